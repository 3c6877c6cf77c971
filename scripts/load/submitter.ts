/** What the load test puts into the service: its uploads, the idle-service start, a large job's rows. */
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import type { Db } from '../../src/db/database.js'
import { insertJobWithRuns } from '../../src/db/jobs.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { LOAD_AGENT } from '../../test/helpers/runners.js'
import { zipDirectory } from '../../test/helpers/task-zips.js'
import { sleep } from './stats.js'

/** Uploads a job of `nRuns` runs of the stand-in agent; resolves to its id. */
export type Upload = (nRuns: number, model: string) => Promise<string>

/** The task every load job runs (hello-pass), zipped. */
export function loadTaskZip(): Promise<Buffer> {
  return zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass'))
}

export function uploader(base: string, zip: Buffer, duration: number): Upload {
  return async (nRuns, model) => {
    const form = new FormData()
    form.append('file', new Blob([zip], { type: 'application/zip' }), 'task.zip')
    // hello-pass gives its agent 120 s: enough room for the stand-in's --duration.
    const timeout_multiplier = String(Math.max(1, Math.ceil((duration + 60) / 120)))
    const fields = {
      model,
      agent: LOAD_AGENT,
      openrouter_key: 'sk-load-unused',
      n_runs: String(nRuns),
      timeout_multiplier,
    }
    for (const [k, v] of Object.entries({ ...fields, max_parallel: String(nRuns) })) form.append(k, v)
    const res = await fetch(`${base}/api/upload`, { method: 'POST', body: form })
    const body = (await res.json()) as { job_id: string }
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${JSON.stringify(body)}`)
    return body.job_id
  }
}

/** The load: `runs` runs in jobs of at most `jobSize` runs, all uploaded at once. */
export function submitLoad(upload: Upload, runs: number, jobSize: number, model: string): Promise<string[]> {
  const sizes = Array.from({ length: Math.ceil(runs / jobSize) }, (_, i) => Math.min(jobSize, runs - i * jobSize))
  return Promise.all(sizes.map((n) => upload(n, model)))
}

/** Upload → the harness's first line on the idle service (its `t=` is when the harness wrote it), in ms. */
export async function measureIdleStart(base: string, upload: Upload): Promise<number[]> {
  const idleStart: number[] = []
  for (let i = 0; i < 4; i++) {
    const t0 = Date.now()
    const jobId = await upload(1, 'load/d1-r5')
    const first = await firstLineAt(base, jobId)
    if (i > 0 && first !== null) idleStart.push(first - t0) // the first warms the API's task checker
    for (;;) {
      const job = (await (await fetch(`${base}/api/jobs/${jobId}`)).json()) as { status: string }
      if (job.status === 'completed') break
      await sleep(200)
    }
  }
  return idleStart
}

/** When the harness wrote the first line of the job's run 1, by its stream. */
async function firstLineAt(base: string, jobId: string): Promise<number | null> {
  const stop = new AbortController()
  const res = await fetch(`${base}/api/jobs/${jobId}/runs/1/logs/stream`, { signal: stop.signal })
  const decoder = new TextDecoder()
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const t = /load line 1\/\d+ t=(\d{13})/.exec(decoder.decode(chunk, { stream: true }))?.[1]
      if (t) return Number(t)
    }
    return null
  } finally {
    stop.abort()
  }
}

/** A 1000-run job for the status poll (rows only: half finished, half queued; no workflow). */
export async function insertBigJob(db: Db): Promise<string> {
  const bigJob = randomUUID()
  await insertJobWithRuns(
    db,
    {
      job: {
        id: bigJob,
        task_name: 'load/big',
        harness: 'harbor',
        agent: 'oracle',
        model: 'load/d1',
        environment: 'docker',
        runs_per_task: 1000,
        max_parallel: 1000,
        timeout_multiplier: 1,
        idempotency_key: null,
        owner_token_id: null,
      },
      tasks: [{ name: 'load/big', format: 'harbor', sha256: 'f'.repeat(64), run_time_limit_sec: 3600 }],
      secret: null,
    },
    randomUUID,
    { activeJobs: 10_000, activeRuns: 1_000_000 },
  )
  await db
    .updateTable('runs')
    .set({ status: 'completed', outcome: 'passed', reward: 1, n_input_tokens: 1000, n_output_tokens: 100 })
    .where('job_id', '=', bigJob)
    .where('run_number', '<=', 500)
    .execute()
  return bigJob
}
