/**
 * The OpenRouter key never leaks. Four jobs, each with its own key, end passed, failed, errored
 * and cancelled; the "model" (a stand-in for OpenRouter on loopback) is careless on purpose: it has
 * the agent print its key in the terminal, write it into the file the verifier prints, and it puts
 * the key into its refusal messages. Afterwards no key is found in: the full Temporal history of
 * every workflow, a dump of every table, every log line, every API response (SSE streams and
 * artifact zips included), or any file left in the data dir (which holds the local host's work dir).
 *
 * And two owners' attempts, run at once as trials of one warm runner, each see their own key and
 * never the other's: in their own environment, in the runner process's environment (which
 * subprocesses inherit), or in their sandbox.
 */
import path from 'node:path'
import { Client, Connection } from '@temporalio/client'
import JSZip from 'jszip'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createToken } from '../../src/db/tokens.js'
import { hostAttemptDir } from '../../src/shared/ids.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { readSse, upload, waitForJob } from '../helpers/api-client.js'
import { startFakeOpenRouter, type FakeOpenRouter } from '../helpers/fake-openrouter.js'
import { record } from '../helpers/reliability.js'
import { filesContaining, historyText } from '../helpers/secrets-scan.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { slowTask, zipDirectory } from '../helpers/task-zips.js'

const KEYS = {
  passed: 'sk-or-v1-sealed-passed-5f0c2a9e41b7d3c8',
  failed: 'sk-or-v1-sealed-failed-8e1d4b7a29c6f035',
  errored: 'sk-or-v1-sealed-errored-3a9f6c1e7b2d4085',
  cancelled: 'sk-or-v1-sealed-cancelled-c47e0b93a1f6d258',
}
/** Each key, and the forms it could take on the way: base64 (payloads) and JSON-escaped. */
const NEEDLES = Object.values(KEYS).flatMap((k) => [k, Buffer.from(k).toString('base64'), k.slice(6)])

// The model writes the right file (or, as "…-wrong", its key into it) and prints its key.
const KEYSTROKES =
  "case '{model}' in *wrong) echo 'my key is {api_key}' > /app/hello.txt;; " +
  "*) echo 'Hello, Harbor!' > /app/hello.txt;; esac; echo 'my key is {api_key}'\n"

let fake: FakeOpenRouter
let service: TestService
let temporal: Client
const jobs: Record<keyof typeof KEYS, string> = { passed: '', failed: '', errored: '', cancelled: '' }
const responses: string[] = []

async function api(route: string): Promise<any> {
  const res = await fetch(`${service.api.url}${route}`)
  const text = await res.text()
  responses.push(text)
  return JSON.parse(text)
}

async function submit(kind: keyof typeof KEYS, model: string, file: Buffer, agent = 'terminus-2') {
  const res = await upload(service.api.url, {
    file,
    filename: 'task.zip',
    fields: { model, agent, n_runs: '1', openrouter_key: KEYS[kind] },
  })
  responses.push(JSON.stringify(res.body))
  expect(res.status).toBe(201)
  jobs[kind] = res.body.job_id
}

function found(text: string): string[] {
  return NEEDLES.filter((n) => text.includes(n))
}

beforeAll(async () => {
  fake = await startFakeOpenRouter(['--by-model', KEYSTROKES, '--echo-key'])
  service = await startTestService({ env: { OPENROUTER_BASE_URL: fake.baseUrl } })
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) })
  const hello = await zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass'))
  await submit('passed', 'fake/solve', hello)
  await submit('failed', 'fake/solve-wrong', hello)
  await submit('errored', 'fake/status-401', hello)
  // The oracle agent needs no key, but a job may still carry one: it must be as safe.
  await submit('cancelled', 'openai/gpt-4o', await slowTask(60), 'oracle')

  // Cancel mid-harness, while following the stream.
  const stream = `${service.api.url}/api/jobs/${jobs.cancelled}/runs/1/logs/stream`
  await readSse(stream, { stopWhen: (e) => e.event === 'log' && e.data.line === 'slow step 2/60', timeoutMs: 120_000 })
  const cancel = await fetch(`${service.api.url}/api/jobs/${jobs.cancelled}/cancel`, { method: 'POST' })
  expect(cancel.status).toBe(202)

  for (const id of Object.values(jobs)) {
    await waitForJob(service.api.url, id, (j) => j.status === 'completed' || j.status === 'cancelled', 240_000)
  }
}, 400_000)

afterAll(async () => {
  await service?.stop()
  await fake?.stop()
  await temporal?.connection.close()
})

describe('the API key, after jobs that passed, failed, errored and were cancelled', () => {
  it('ended as each job was meant to, having really met the key', async () => {
    const runOf = async (id: string) => (await api(`/api/jobs/${id}`)).runs[0]
    expect(await runOf(jobs.passed)).toMatchObject({ status: 'completed', outcome: 'passed' })
    expect(await runOf(jobs.failed)).toMatchObject({ status: 'completed', outcome: 'failed' })
    expect(await runOf(jobs.errored)).toMatchObject({ status: 'completed', outcome: 'error', error_class: 'provider' })
    expect((await api(`/api/jobs/${jobs.cancelled}`)).status).toBe('cancelled')
    // The scrubber had something to do: the model printed the key, and the verifier printed it back.
    const log = await (await fetch(`${service.api.url}/api/jobs/${jobs.failed}/runs/1/logs`)).text()
    expect(log).toContain('my key is [REDACTED]')
  })

  it('is in no Temporal history', async () => {
    let workflows = 0
    const hits: string[] = []
    for await (const wf of temporal.workflow.list({ query: `TaskQueue = '${service.config.temporal.taskQueue}'` })) {
      workflows++
      const text = await historyText(temporal, wf.workflowId)
      hits.push(...found(text).map((n) => `${wf.workflowId}: ${n}`))
    }
    expect(workflows).toBe(8) // a job workflow and a run workflow per job
    await record({ row: 'secret_scan', what: 'Temporal histories', ok: hits.length === 0, secretsFound: hits.length })
    expect(hits).toEqual([])
  })

  it('is in no table, no log line, and no sealed secret is left', async () => {
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(
      service.db.db,
    )
    const hits: string[] = []
    let lines = 0
    for (const { table_name: table } of tables.rows) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(service.db.db)
      if (table === 'run_log_lines') lines = rows.rows.length
      hits.push(...found(JSON.stringify(rows.rows)).map((n) => `${table}: ${n}`))
    }
    expect(tables.rows.map((t) => t.table_name)).toEqual(expect.arrayContaining(['jobs', 'runs', 'run_log_lines']))
    expect(lines).toBeGreaterThan(50)
    expect(await service.db.db.selectFrom('job_secrets').selectAll().execute()).toEqual([])
    await record({ row: 'secret_scan', what: 'database tables', ok: hits.length === 0, secretsFound: hits.length })
    expect(hits).toEqual([])
  })

  it('is in no API response: jobs, runs, logs, streams, artifacts', async () => {
    await api('/api/jobs')
    await api('/api/hosts')
    for (const id of Object.values(jobs)) {
      await api(`/api/jobs/${id}`)
      await api(`/api/jobs/${id}/runs/1`)
      responses.push(await (await fetch(`${service.api.url}/api/jobs/${id}/runs/1/logs`)).text())
      const stream = await readSse(`${service.api.url}/api/jobs/${id}/runs/1/logs/stream`)
      expect(stream.ended).toBe(true)
      responses.push(JSON.stringify(stream.events))
      const zip = await fetch(`${service.api.url}/api/jobs/${id}/runs/1/artifacts`)
      if (zip.status === 200) {
        const archive = await JSZip.loadAsync(Buffer.from(await zip.arrayBuffer()))
        for (const file of Object.values(archive.files)) {
          if (!file.dir) responses.push(`${file.name}\n${await file.async('string')}`)
        }
      }
    }
    const hits = responses.flatMap((r) => found(r).map((n) => `${r.slice(0, 80)}: ${n}`))
    await record({ row: 'secret_scan', what: 'API responses', ok: hits.length === 0, secretsFound: hits.length })
    expect(responses.some((r) => r.includes('agent/trajectory.json'))).toBe(true)
    expect(hits).toEqual([])
  })

  it('is in no file left in the data dir or on the host', async () => {
    const hits: string[] = []
    for (const needle of NEEDLES) hits.push(...(await filesContaining(service.config.dataDir, needle)))
    // The local host's work dir is inside the data dir; it must be empty of runs once they ended.
    expect(service.config.hosts[0]!.workDir.startsWith(service.config.dataDir)).toBe(true)
    await record({
      row: 'secret_scan',
      what: 'files in the data dir and hosts',
      ok: hits.length === 0,
      secretsFound: hits.length,
    })
    expect(hits).toEqual([])
  })
})

describe("two owners' attempts in one runner", () => {
  const OWNER_KEYS = { a: 'sk-or-v1-owner-a-61c0e9d24b7f8a35', b: 'sk-or-v1-owner-b-0d8e3f71a5c9b246' }
  const sha = (text: string) => createHash('sha256').update(text).digest('hex')
  let shared: TestService
  const probes = {} as Record<'a' | 'b', { lines: string[]; runner: string }>

  beforeAll(async () => {
    // The host's files are kept, to read which runner ran each attempt.
    shared = await startTestService({ env: { KEEP_HOST_FILES: 'true' } })
    const hello = await zipDirectory(path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass'))
    const owners = {
      a: await createToken(shared.db.db, 'owner-a', false),
      b: await createToken(shared.db.db, 'owner-b', false),
    }
    const submitted = await Promise.all(
      (['a', 'b'] as const).map(async (owner) => {
        const res = await upload(shared.api.url, {
          file: hello,
          headers: { Authorization: `Bearer ${owners[owner].token}` },
          fields: {
            agent: 'harbor_runner_testenv.probe_agent:EnvProbeAgent',
            model: 'probe/d6',
            n_runs: '1',
            openrouter_key: OWNER_KEYS[owner],
          },
        })
        expect(res.status).toBe(201)
        return [owner, res.body.job_id as string] as const
      }),
    )
    for (const [owner, jobId] of submitted) {
      const auth = { Authorization: `Bearer ${owners[owner].token}` }
      for (let ended = false; !ended; await new Promise((r) => setTimeout(r, 250))) {
        const job = (await (await fetch(`${shared.api.url}/api/jobs/${jobId}`, { headers: auth })).json()) as {
          status: string
        }
        ended = job.status === 'completed'
      }
      const log = await (await fetch(`${shared.api.url}/api/jobs/${jobId}/runs/1/logs`, { headers: auth })).text()
      const proc = path.join(shared.config.hosts[0]!.workDir, hostAttemptDir(jobId, 1, 1), 'proc')
      probes[owner] = { lines: log.split('\n'), runner: (await readFile(path.join(proc, 'runner'), 'utf8')).trim() }
    }
  }, 240_000)
  afterAll(() => shared?.stop())

  it('ran both at once in the same runner process', () => {
    expect(probes.a.runner).toBe(probes.b.runner)
    const window = (lines: string[]) =>
      lines
        .find((l) => / window \d+ \d+$/.test(l))!
        .split(' ')
        .slice(-2)
        .map(Number)
    const [a0, a1] = window(probes.a.lines)
    const [b0, b1] = window(probes.b.lines)
    expect(Math.max(a0!, b0!)).toBeLessThan(Math.min(a1!, b1!))
  })

  it("shows each agent its own key, and never the other's, in its environment, the runner's or the sandbox", () => {
    for (const [own, other] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const lines = probes[own].lines
      expect(lines.some((l) => l.endsWith(`os.environ OPENROUTER_API_KEY ${sha(OWNER_KEYS[own])}`))).toBe(true)
      expect(lines.filter((l) => l.includes(sha(OWNER_KEYS[other])))).toEqual([])
      // Not in what subprocesses inherit, nor in the sandbox: only the agent's own lookups see it.
      expect(lines.filter((l) => / (process|sandbox) \S+ /.test(l) && l.includes(sha(OWNER_KEYS[own])))).toEqual([])
      expect(lines.filter((l) => / sandbox \S+ /.test(l)).length).toBeGreaterThan(0)
      expect(lines.filter((l) => / process \S+ /.test(l)).length).toBeGreaterThan(0)
    }
  })
})
