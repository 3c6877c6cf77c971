/** Event streams held open while the load runs: runs' log streams and job pages. */
import { readSse, type SseEvent } from '../../test/helpers/api-client.js'
import { sleep } from './stats.js'

/** A log line an SSE client received: when the harness wrote it, and how long it took to arrive. */
export interface SseSample {
  writtenAt: number
  delay: number
  /** Of which until its transaction in the worker's log writer began (the row's created_at). */
  toStored: number
}

/** Follows `count` runs' streams, spread over the jobs; each agent line's delay goes into `delays`. */
export function followRuns(
  base: string,
  jobIds: string[],
  count: number,
  delays: SseSample[],
  stop: AbortSignal,
): Promise<void>[] {
  return Array.from({ length: count }, (_, i) =>
    followRun(base, jobIds[i % jobIds.length]!, Math.floor(i / jobIds.length) + 1, delays, stop),
  )
}

/**
 * Follows a run's stream to its end, reconnecting with the last id after a drop; for each agent
 * line, the time from the harness writing it to here.
 */
async function followRun(base: string, jobId: string, run: number, delays: SseSample[], stop: AbortSignal) {
  let last: string | undefined
  while (!stop.aborted) {
    try {
      let ended = false
      await readSse(`${base}/api/jobs/${jobId}/runs/${run}/logs/stream`, {
        lastEventId: last,
        signal: stop,
        timeoutMs: 24 * 3600_000, // until the run ends or the load stops
        stopWhen: (e) => {
          if (e.id) last = e.id
          const sample = sampleOf(e)
          if (sample) delays.push(sample)
          return (ended = e.event === 'end')
        },
      })
      if (ended) return
    } catch {
      if (stop.aborted) return
      await sleep(500)
    }
  }
}

/** An agent line's event as a sample; null for any other event. */
function sampleOf(e: SseEvent): SseSample | null {
  const t = /load line \d+\/\d+ t=(\d{13})/.exec(e.event === 'log' ? String(e.data?.line) : '')?.[1]
  if (!t) return null
  const stored = Date.parse(String(e.data?.time ?? ''))
  return { writtenAt: Number(t), delay: e.at - Number(t), toStored: stored - Number(t) }
}

/** Job pages open as a dashboard holds them: the `job` events each receives, counted in `events`. */
export function openJobPages(base: string, jobIds: string[], events: number[], stop: AbortSignal): Promise<unknown>[] {
  return events.map((_, i) =>
    readSse(`${base}/api/jobs/${jobIds[i % jobIds.length]}/events`, {
      signal: stop,
      timeoutMs: 24 * 3600_000, // until the job ends or the load stops
      stopWhen: (e) => {
        if (e.event === 'job') events[i]!++
        return false
      },
    }),
  )
}
