/**
 * Benchmark (not a test): where a job's time goes, run by run, through the whole service.
 *
 *   npm run bench:job-path -- [--size 40x20]
 *
 * Starts the service as bench:vs-harbor does (API and one worker as processes, embedded PostgreSQL
 * and Temporal dev server, the test environment), warms it with one job, then runs N oracle runs of
 * hello-pass at most C at once and splits each run's time, from its workflow's start to its end,
 * into the steps below, read from the run workflow's Temporal history, the attempt's record and
 * Harbor's result.json. Prints the median and the largest of each, and the CPU each process spent.
 */
import { Client, Connection } from '@temporalio/client'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { PROJECT_ROOT } from '../src/paths.js'
import { runWorkflowId } from '../src/shared/ids.js'
import { readSse } from '../test/helpers/api-client.js'
import { zipDirectory } from '../test/helpers/task-zips.js'
import { cpuOf } from './lib/proc.js'
import { startBenchService } from './lib/service.js'

const { values } = parseArgs({ options: { size: { type: 'string', default: '40x20' } } })
const [N, C] = values.size.split('x').map(Number) as [number, number]
const TASK = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass')

const STEPS = [
  ['placed and dispatched', 'workflow start → its host activity starts'],
  ['staged and started', 'host activity starts → the runner starts the attempt'],
  ['runner preflight', 'the runner starts the attempt → Harbor starts the trial'],
  ['Harbor trial', "Harbor's trial, start to end (result.json)"],
  ['collected', 'the attempt ends → the host activity returns'],
  ['recorded and cleaned', 'the host activity returns → the workflow ends'],
] as const

async function main() {
  const service = await startBenchService({ workers: 1, slots: C })
  try {
    await service.ready()
    const zip = await zipDirectory(TASK)
    await runJob(service.base, zip, 1, 1)
    const before = await cpuByProcess()
    const job = await runJob(service.base, zip, N, C)
    const cpu = diffCpu(before, await cpuByProcess())
    const temporal = new Client({ connection: await Connection.connect({ address: service.infra.temporalAddress }) })
    const db = new pg.Client({ connectionString: service.infra.databaseUrl })
    await db.connect()
    const steps = new Map<string, number[]>(STEPS.map(([name]) => [name, []]))
    let lastEnd = 0
    for (let run = 1; run <= N; run++) {
      const history = await temporal.workflow.getHandle(runWorkflowId(job.id, run)).fetchHistory()
      const w = workflowTimes(history.events ?? [])
      const { rows } = await db.query(
        `select extract(epoch from a.harness_started_at) * 1000 as hs, extract(epoch from a.harness_finished_at) * 1000 as hf,
                a.result from run_attempts a join runs r on r.id = a.run_id where r.job_id = $1 and r.run_number = $2`,
        [job.id, run],
      )
      const a = rows[0] as { hs: string; hf: string; result: { started_at: string; finished_at: string } }
      const trial = [Date.parse(a.result.started_at), Date.parse(a.result.finished_at)]
      const marks = [w.start, w.activityStarted, Number(a.hs), trial[0]!, trial[1]!, w.activityDone, w.end]
      // (The attempt's own end is taken as the trial's: the runner closes its record right after.)
      STEPS.forEach(([name], i) => steps.get(name)!.push(marks[i + 1]! - marks[i]!))
      lastEnd = Math.max(lastEnd, w.end)
    }
    await db.end()
    const ms = (x: number) => `${Math.round(x)} ms`
    const out = [
      '',
      `${N} oracle runs of hello-pass, at most ${C} at once: upload → job ended ${ms(job.ended - job.submitted)}; the last run's workflow ended at ${ms(lastEnd - job.submitted)}`,
      '',
      '| step of a run | what | median | largest |',
      '|---|---|---:|---:|',
      ...STEPS.map(([name, what]) => {
        const xs = steps.get(name)!
        return `| ${name} | ${what} | ${ms(median(xs))} | ${ms(Math.max(...xs))} |`
      }),
      '',
      'CPU seconds over the job: ' + cpu.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', '),
      '',
    ]
    process.stdout.write(out.join('\n'))
  } finally {
    await service.stop()
  }
}

async function runJob(base: string, zip: Buffer, n: number, c: number) {
  const submitted = Date.now()
  const form = new FormData()
  form.append('file', new Blob([zip], { type: 'application/zip' }), 'task.zip')
  const fields = { agent: 'oracle', model: 'openai/gpt-4o', n_runs: String(n), max_parallel: String(c) }
  for (const [k, v] of Object.entries(fields)) form.append(k, v)
  const res = await fetch(`${base}/api/upload`, { method: 'POST', body: form })
  const body = (await res.json()) as { job_id: string }
  if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${JSON.stringify(body)}`)
  await readSse(`${base}/api/jobs/${body.job_id}/events`, { timeoutMs: 600_000, stopWhen: (e) => e.event === 'end' })
  return { id: body.job_id, submitted, ended: Date.now() }
}

interface HistoryEvent {
  eventTime?: { seconds?: unknown; nanos?: number | null } | null
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null
  eventId?: unknown
}

/** When the run workflow started and ended, and when its (first) host activity started and returned. */
function workflowTimes(events: HistoryEvent[]) {
  const at = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6)
  const runAttempt = new Set<string>()
  let activityStarted = NaN
  let activityDone = NaN
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAttempt') runAttempt.add(String(e.eventId))
    const started = e.activityTaskStartedEventAttributes?.scheduledEventId
    if (started !== undefined && runAttempt.has(String(started)) && Number.isNaN(activityStarted))
      activityStarted = at(e)
    const done = e.activityTaskCompletedEventAttributes?.scheduledEventId
    if (done !== undefined && runAttempt.has(String(done))) activityDone = at(e)
  }
  return { start: at(events[0]!), activityStarted, activityDone, end: at(events.at(-1)!) }
}

/** CPU seconds spent so far by the service's processes, by kind, summed over their pids. */
async function cpuByProcess(): Promise<Map<string, number>> {
  const kinds: [RegExp, string][] = [
    [/worker\.ts/, 'worker'],
    [/api\/server\.ts/, 'API'],
    [/temporal/, 'Temporal'],
    [/postgres/, 'PostgreSQL'],
    [/harbor_trial_runner/, 'trial runner'],
  ]
  const out = new Map<string, number>()
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ')
    const kind = kinds.find(([re]) => re.test(cmd))?.[1]
    if (kind) out.set(`${kind}|${pid}`, (await cpuOf(Number(pid))).self)
  }
  return out
}

function diffCpu(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  const sums = new Map<string, number>()
  for (const [key, v] of after) {
    const kind = key.split('|')[0]!
    sums.set(kind, (sums.get(kind) ?? 0) + v - (before.get(key) ?? 0))
  }
  return [...sums].sort((a, b) => b[1] - a[1])
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : err}\n`)
  process.exit(1)
})
