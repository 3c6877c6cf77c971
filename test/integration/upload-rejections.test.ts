/**
 * Malformed uploads through the real API: each gets a 4xx with its own code and leaves nothing
 * behind (no row, no stored task, no upload temp file, no workflow). One table of cases, one test
 * that walks it: adding a case is one line.
 */
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { Client, Connection } from '@temporalio/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { upload, type UploadInput } from '../helpers/api-client.js'
import { buildRawZip } from '../helpers/raw-zip.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { buildZip, harborTask, terminalBenchTask, type ZipSpec } from '../helpers/task-zips.js'

const LIMITS = {
  UPLOAD_MAX_BYTES: String(256 * 1024),
  UPLOAD_MAX_ENTRIES: '50',
  UPLOAD_MAX_UNCOMPRESSED_BYTES: String(1024 * 1024),
}
const FIELDS = { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '2', openrouter_key: 'sk-or-v1-test-upload-key' }

function without(spec: ZipSpec, ...names: string[]): ZipSpec {
  return Object.fromEntries(Object.entries(spec).filter(([k]) => !names.includes(k)))
}

interface Case {
  name: string
  input: () => Promise<UploadInput>
  status: number
  code: string
}

const valid = async (fields: Record<string, string> = {}): Promise<UploadInput> => ({
  file: await buildZip(harborTask()),
  fields: { ...FIELDS, ...fields },
})

const CASES: Case[] = [
  {
    name: 'not a zip',
    input: async () => ({ file: Buffer.from('hello, not a zip'), fields: FIELDS }),
    status: 400,
    code: 'not_a_zip',
  },
  {
    name: 'zip-slip path',
    input: async () => ({
      file: buildRawZip([{ name: '../evil.txt', data: 'x' }, ...raw(harborTask())]),
      fields: FIELDS,
    }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'absolute path',
    input: async () => ({
      file: buildRawZip([{ name: '/etc/evil', data: 'x' }, ...raw(harborTask())]),
      fields: FIELDS,
    }),
    status: 422,
    code: 'unsafe_path',
  },
  {
    name: 'symlink',
    input: async () => ({
      file: buildRawZip([...raw(harborTask()), { name: 'link', data: '/etc/passwd', mode: 0o120777 }]),
      fields: FIELDS,
    }),
    status: 422,
    code: 'symlink',
  },
  {
    name: 'too many entries',
    input: async () => ({ file: await buildZip({ ...harborTask(), ...manyFiles(60) }), fields: FIELDS }),
    status: 413,
    code: 'too_many_entries',
  },
  {
    name: 'archive over the upload limit',
    input: async () => ({ file: randomBytes(300 * 1024), fields: FIELDS }),
    status: 413,
    code: 'upload_too_large',
  },
  {
    name: 'uncompressed size over the limit',
    input: async () => ({
      file: await buildZip({ ...harborTask(), 'big.txt': 'a'.repeat(2 * 1024 * 1024) }),
      fields: FIELDS,
    }),
    status: 413,
    code: 'too_large_uncompressed',
  },
  {
    name: 'no task.toml',
    input: async () => ({ file: await buildZip(without(harborTask(), 'task.toml')), fields: FIELDS }),
    status: 422,
    code: 'unknown_task_format',
  },
  {
    name: 'no instruction.md',
    input: async () => ({ file: await buildZip(without(harborTask(), 'instruction.md')), fields: FIELDS }),
    status: 422,
    code: 'missing_task_file',
  },
  {
    name: 'no tests',
    input: async () => ({ file: await buildZip(without(harborTask(), 'tests/test.sh')), fields: FIELDS }),
    status: 422,
    code: 'missing_task_file',
  },
  {
    name: "task.toml with an invalid field (Harbor's own model)",
    input: async () => ({
      file: await buildZip({ ...harborTask(), 'task.toml': '[agent]\ntimeout_sec = "soon"\n' }),
      fields: FIELDS,
    }),
    status: 422,
    code: 'invalid_task',
  },
  {
    name: 'task.toml that is not TOML',
    input: async () => ({ file: await buildZip({ ...harborTask(), 'task.toml': '[agent\ntimeout' }), fields: FIELDS }),
    status: 422,
    code: 'invalid_task',
  },
  { name: 'n_runs of 0', input: () => valid({ n_runs: '0' }), status: 400, code: 'invalid_n_runs' },
  { name: 'n_runs of -1', input: () => valid({ n_runs: '-1' }), status: 400, code: 'invalid_n_runs' },
  { name: 'n_runs of "abc"', input: () => valid({ n_runs: 'abc' }), status: 400, code: 'invalid_n_runs' },
  { name: 'n_runs over the limit', input: () => valid({ n_runs: '1001' }), status: 400, code: 'invalid_n_runs' },
  { name: 'unknown harness', input: () => valid({ harness: 'swebench' }), status: 400, code: 'invalid_harness' },
  {
    name: 'no model',
    input: async () => ({
      file: await buildZip(harborTask()),
      fields: without(FIELDS, 'model') as Record<string, string>,
    }),
    status: 400,
    code: 'invalid_model',
  },
  { name: 'model with a space', input: () => valid({ model: 'openai/gpt 4o' }), status: 400, code: 'invalid_model' },
  {
    name: 'no key for a model agent',
    input: async () => ({
      file: await buildZip(harborTask()),
      fields: { model: 'openai/gpt-4o', agent: 'terminus-2' },
    }),
    status: 400,
    code: 'invalid_openrouter_key',
  },
  {
    name: 'agent with a path trick',
    input: () => valid({ agent: '../../bin/sh' }),
    status: 400,
    code: 'invalid_agent',
  },
  {
    name: 'timeout_multiplier of 0',
    input: () => valid({ timeout_multiplier: '0' }),
    status: 400,
    code: 'invalid_timeout_multiplier',
  },
  { name: 'unknown field', input: () => valid({ colour: 'blue' }), status: 400, code: 'unknown_field' },
  { name: 'no file', input: async () => ({ fields: FIELDS }), status: 400, code: 'missing_file' },
  {
    name: 'Harbor task for the terminus harness',
    input: () => valid({ harness: 'terminus' }),
    status: 422,
    code: 'unsupported_task_format',
  },
  {
    name: 'Terminal-Bench task without difficulty (its own model)',
    input: async () => ({
      file: await buildZip({ ...terminalBenchTask(), 'task.yaml': 'instruction: Print hello.\n' }),
      fields: { ...FIELDS, harness: 'terminus' },
    }),
    status: 422,
    code: 'invalid_task',
  },
  {
    name: 'Terminal-Bench task without docker-compose.yaml',
    input: async () => ({
      file: await buildZip(without(terminalBenchTask(), 'docker-compose.yaml')),
      fields: { ...FIELDS, harness: 'terminus' },
    }),
    status: 422,
    code: 'invalid_task',
  },
  {
    name: 'Terminal-Bench task harbor cannot convert',
    input: async () => ({
      file: await buildZip({ ...without(terminalBenchTask(), 'solution.sh'), 'solution.yaml': '- command: echo hi\n' }),
      fields: FIELDS,
    }),
    status: 422,
    code: 'invalid_task',
  },
]

function raw(spec: ZipSpec) {
  return Object.entries(spec).map(([name, v]) =>
    typeof v === 'string'
      ? { name, data: v, mode: 0o100644 }
      : { name, data: v.data, mode: 0o100000 | (v.mode ?? 0o644) },
  )
}

function manyFiles(n: number): ZipSpec {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`extra/f${i}.txt`, `${i}`]))
}

let service: TestService
let temporal: Client

beforeAll(async () => {
  service = await startTestService({ worker: false, env: LIMITS })
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) })
})
afterAll(async () => {
  await service?.stop()
  await temporal?.connection.close()
})

/** Everything an upload could leave behind. */
async function leftovers() {
  const db = service.db.db
  const count = async (table: 'jobs' | 'runs' | 'job_secrets') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )
  const files = async (dir: string) => (await readdir(path.join(service.config.dataDir, dir)).catch(() => [])).length
  const { count: workflows } = await temporal.workflow.count(`TaskQueue = '${service.config.temporal.taskQueue}'`)
  return {
    jobs: await count('jobs'),
    runs: await count('runs'),
    secrets: await count('job_secrets'),
    tasks: await files('tasks'),
    uploads: await files('uploads'),
    workflows,
  }
}

const NOTHING = { jobs: 0, runs: 0, secrets: 0, tasks: 0, uploads: 0, workflows: 0 }

describe('malformed uploads', () => {
  it('each get their own 4xx code and leave nothing behind', async () => {
    const failures: string[] = []
    for (const c of CASES) {
      const { status, body } = await upload(service.api.url, await c.input())
      if (status !== c.status || body?.error?.code !== c.code) {
        failures.push(`${c.name}: expected ${c.status} ${c.code}, got ${status} ${JSON.stringify(body)}`)
      } else if (typeof body.error.message !== 'string' || body.error.message.length === 0) {
        failures.push(`${c.name}: no message`)
      }
      const left = await leftovers()
      if (JSON.stringify(left) !== JSON.stringify(NOTHING)) failures.push(`${c.name}: left ${JSON.stringify(left)}`)
    }
    expect(failures).toEqual([])
  })

  it('rejects a body that is not multipart, and a broken multipart body', async () => {
    const json = await fetch(`${service.api.url}/api/upload`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    expect(json.status).toBe(415)
    expect(((await json.json()) as any).error.code).toBe('unsupported_media_type')

    const broken = await fetch(`${service.api.url}/api/upload`, {
      method: 'POST',
      body: '--xyz\r\nContent-Disposition: form-data; name="model"\r\n\r\nopenai/gpt-4o\r\n--xyz\r\nContent-Disp',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
    })
    expect(broken.status).toBe(400)
    expect(((await broken.json()) as any).error.code).toBe('malformed_multipart')
    expect(await leftovers()).toEqual(NOTHING)
  })

  it('accepts the same upload when it is well-formed (the leftover check sees what a job leaves)', async () => {
    const { status, body } = await upload(service.api.url, await valid())
    expect(status).toBe(201)
    expect(body).toMatchObject({ status: 'queued', runs_queued: 2, task_name: 'test/hello-world', agent: 'oracle' })
    expect(await leftovers()).toEqual({ jobs: 1, runs: 2, secrets: 1, tasks: 1, uploads: 0, workflows: 1 })
    await temporal.workflow.getHandle(`job-${body.job_id}`).terminate('test over')
  })

  it('answers a retried upload with its Idempotency-Key with the first job, not a second', async () => {
    const before = await leftovers()
    const input = { ...(await valid()), headers: { 'Idempotency-Key': 'retry-me-123' } }
    const first = await upload(service.api.url, input)
    const again = await upload(service.api.url, input)
    expect(first.status).toBe(201)
    expect(again.status).toBe(200)
    expect(again.body.job_id).toBe(first.body.job_id)
    const after = await leftovers()
    expect(after.jobs - before.jobs).toBe(1)
    expect(after.workflows - before.workflows).toBe(1)
    await temporal.workflow.getHandle(`job-${first.body.job_id}`).terminate('test over')
  })
})
