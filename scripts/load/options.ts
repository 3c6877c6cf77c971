/** The load test's command line (see scripts/load-test.ts). */
import { parseArgs } from 'node:util'

export interface LoadOptions {
  /** Runs in all (N). */
  runs: number
  /** Slots over all hosts (C). */
  slots: number
  /** Seconds each stand-in agent runs (D). */
  duration: number
  /** Log lines a second each agent writes. */
  rate: number
  workers: number
  /** Runs whose SSE streams are followed. */
  follow: number
  pollers: number
  /** Runs per job: the load is submitted as ceil(runs / jobSize) jobs. */
  jobSize: number
  /** Job pages held open (GET /api/jobs/{id}/events), one per load job in turn. */
  jobPages: number
  /** Writes a V8 CPU profile of each worker (and the API) into this directory when they stop. */
  profile: string | undefined
}

export function parseLoadOptions(): LoadOptions {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '600' },
      slots: { type: 'string', default: '600' },
      duration: { type: 'string', default: '120' },
      rate: { type: 'string', default: '5' },
      workers: { type: 'string', default: '1' },
      follow: { type: 'string', default: '20' },
      pollers: { type: 'string', default: '5' },
      'job-pages': { type: 'string', default: '0' },
      'job-size': { type: 'string', default: '100' },
      profile: { type: 'string' },
    },
  })
  return {
    runs: Number(values.runs),
    slots: Number(values.slots),
    duration: Number(values.duration),
    rate: Number(values.rate),
    workers: Number(values.workers),
    follow: Number(values.follow),
    pollers: Number(values.pollers),
    jobSize: Number(values['job-size']),
    jobPages: Number(values['job-pages']),
    profile: values.profile,
  }
}
