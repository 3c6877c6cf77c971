/**
 * Tokens and ownership through the real API: tokens made and revoked by the admin command
 * (`src/token.ts`, run as its own process), every route but health closed without one, a token seeing
 * and cancelling only its own jobs, an admin token seeing all, the SSE stream reached with
 * `?access_token=` as an EventSource must, Idempotency-Keys per owner, limits per owner, and the
 * refusal to listen beyond loopback while no token exists.
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { Client, Connection } from '@temporalio/client'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/logger.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { startApiRuntime } from '../../src/runtime/api-runtime.js'
import { upload } from '../helpers/api-client.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { buildZip, harborTask } from '../helpers/task-zips.js'
import { createTestDatabase } from '../helpers/test-db.js'

const FIELDS = { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '2' }

let service: TestService
let temporal: Client
const tokens: Record<string, string> = {}

/** The admin command, as a user runs it, against the service's database. */
async function tokenCommand(...args: string[]) {
  return execa(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'token.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env: service.env,
    extendEnv: false,
    reject: false,
  })
}

async function call(method: string, route: string, token?: string, init: RequestInit = {}) {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {}
  const res = await fetch(`${service.api.url}${route}`, { method, ...init, headers: { ...headers, ...init.headers } })
  const text = await res.text()
  let body: any = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON (an event stream)
  }
  return { status: res.status, body, headers: res.headers }
}

async function uploadAs(token: string, fields: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return upload(service.api.url, {
    file: await buildZip(harborTask()),
    fields: { ...FIELDS, ...fields },
    headers: { Authorization: `Bearer ${token}`, ...headers },
  })
}

beforeAll(async () => {
  // No worker: jobs stay queued, which is all ownership needs. Small per-token limits to reach.
  service = await startTestService({
    worker: false,
    env: { MAX_ACTIVE_JOBS_PER_TOKEN: '3', MAX_ACTIVE_RUNS_PER_TOKEN: '7', MAX_REQUEST_BODY_BYTES: '1024' },
  })
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) })
})
afterAll(async () => {
  const { jobs } = (await call('GET', '/api/jobs?limit=200', tokens.admin)).body ?? { jobs: [] }
  for (const job of jobs ?? []) {
    await temporal.workflow
      .getHandle(`job-${job.job_id}`)
      .terminate('test over')
      .catch(() => undefined)
  }
  await service?.stop()
  await temporal?.connection.close()
})

describe('API tokens', () => {
  it('is open on loopback while no token exists', async () => {
    expect((await call('GET', '/api/jobs')).status).toBe(200)
  })

  it('makes tokens with the admin command, printed once and stored only as a hash', async () => {
    for (const [name, admin] of [
      ['alice', false],
      ['bob', false],
      ['root', true],
    ] as const) {
      const made = await tokenCommand('create', '--name', name, ...(admin ? ['--admin'] : []))
      expect(made.exitCode, made.stderr).toBe(0)
      const token = made.stdout.trim()
      expect(token).toMatch(/^hr_[A-Za-z0-9_-]{40,}$/)
      tokens[name === 'root' ? 'admin' : name] = token
    }
    const again = await tokenCommand('create', '--name', 'alice')
    expect(again.exitCode).toBe(1)
    expect(again.stderr).toContain('an active token named "alice" exists')
    const bad = await tokenCommand('create', '--name', 'no spaces please')
    expect(bad.exitCode).toBe(2)

    const listed = await tokenCommand('list')
    expect(listed.exitCode).toBe(0)
    expect(listed.stdout).toMatch(/^alice\tuser\tactive/m)
    expect(listed.stdout).toMatch(/^root\tadmin\tactive/m)
    const dump = JSON.stringify(await service.db.db.selectFrom('api_tokens').selectAll().execute())
    for (const token of Object.values(tokens)) expect(dump).not.toContain(token)
    expect(listed.stdout + dump).not.toContain(tokens.alice!.slice(3))
  })

  it('closes every route but health to requests without a valid token, each with its own code', async () => {
    expect((await call('GET', '/api/health')).status).toBe(200)
    const none = await call('GET', '/api/jobs')
    expect(none.status).toBe(401)
    expect(none.body.error.code).toBe('token_required')
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    expect((await call('GET', '/api/hosts')).body.error.code).toBe('token_required')
    expect((await upload(service.api.url, { file: await buildZip(harborTask()), fields: FIELDS })).status).toBe(401)
    const wrong = await call('GET', '/api/jobs', `hr_${randomBytes(32).toString('base64url')}`)
    expect([wrong.status, wrong.body.error.code]).toEqual([401, 'invalid_token'])
    const malformed = await call('GET', '/api/jobs', undefined, { headers: { Authorization: 'Basic YTpi' } })
    expect([malformed.status, malformed.body.error.code]).toEqual([401, 'invalid_authorization'])
    // A token is never taken from the URL, for reading or for changes.
    for (const [method, route] of [
      ['GET', '/api/jobs'],
      ['POST', `/api/jobs/${randomBytes(16).toString('hex')}/cancel`],
    ]) {
      const viaQuery = await call(method!, `${route}?access_token=${tokens.alice}`)
      expect([viaQuery.status, viaQuery.body.error.code]).toEqual([401, 'token_in_query'])
    }
  })

  it("shows and cancels only the token's own jobs; an admin token sees all", async () => {
    const alice = await uploadAs(tokens.alice!)
    const bob = await uploadAs(tokens.bob!)
    expect([alice.status, bob.status]).toEqual([201, 201])
    const a = alice.body.job_id as string
    const b = bob.body.job_id as string

    const aliceList = (await call('GET', '/api/jobs', tokens.alice)).body
    expect(aliceList.jobs.map((j: any) => j.job_id)).toEqual([a])
    expect(aliceList.total).toBe(1)
    const adminList = (await call('GET', '/api/jobs', tokens.admin)).body
    expect(adminList.jobs.map((j: any) => j.job_id).sort()).toEqual([a, b].sort())

    // Another owner's job does not exist, for every route that names it, even just after its owner
    // read it (the API keeps a job's rendered detail).
    for (const route of [`/api/jobs/${a}`, `/api/jobs/${a}/runs/1`, `/api/jobs/${a}/runs/1/logs`]) {
      expect((await call('GET', route, tokens.alice)).status).toBe(200)
      const seen = await call('GET', route, tokens.bob)
      expect([route, seen.status, seen.body.error.code]).toEqual([route, 404, 'job_not_found'])
      expect((await call('GET', route, tokens.admin)).status).toBe(200)
    }
    const stolen = await call('POST', `/api/jobs/${a}/cancel`, tokens.bob)
    expect([stolen.status, stolen.body.error.code]).toEqual([404, 'job_not_found'])
    expect((await call('GET', `/api/jobs/${a}`, tokens.alice)).body.status).toBe('queued')
    expect((await call('POST', `/api/jobs/${b}/cancel`, tokens.admin)).status).toBe(202)
  })

  it("opens the SSE stream with a ticket, as an EventSource must, and gives none for another token's job", async () => {
    const { body } = await uploadAs(tokens.alice!)
    const target = JSON.stringify({ purpose: 'run_log_stream', job_id: body.job_id, run_number: 1 })
    const json = { 'Content-Type': 'application/json' }
    const ticket = await call('POST', '/api/stream-tickets', tokens.alice, { body: target, headers: json })
    expect(ticket.status).toBe(201)
    const controller = new AbortController()
    const res = await fetch(`${service.api.url}${ticket.body.url}`, { signal: controller.signal })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    controller.abort()
    const other = await call('POST', '/api/stream-tickets', tokens.bob, { body: target, headers: json })
    expect([other.status, other.body.error.code]).toEqual([404, 'job_not_found'])
  })

  it('keeps Idempotency-Keys per owner: the same key from two tokens makes two jobs', async () => {
    const key = { 'Idempotency-Key': `shared-${randomBytes(4).toString('hex')}` }
    const first = await uploadAs(tokens.bob!, { n_runs: '1' }, key)
    const retried = await uploadAs(tokens.bob!, { n_runs: '1' }, key)
    const byAdmin = await uploadAs(tokens.admin!, { n_runs: '1' }, key)
    expect([first.status, retried.status, byAdmin.status]).toEqual([201, 200, 201])
    expect(retried.body.job_id).toBe(first.body.job_id)
    expect(byAdmin.body.job_id).not.toBe(first.body.job_id)
  })

  it("limits each token's active jobs and runs, each with its own code", async () => {
    // alice has 2 queued jobs of 2 runs each (limits: 3 jobs, 7 runs).
    const tooManyRuns = await uploadAs(tokens.alice!, { n_runs: '4' })
    expect([tooManyRuns.status, tooManyRuns.body.error.code]).toEqual([429, 'too_many_active_runs'])
    expect((await uploadAs(tokens.alice!, { n_runs: '3' })).status).toBe(201)
    const tooManyJobs = await uploadAs(tokens.alice!, { n_runs: '1' })
    expect([tooManyJobs.status, tooManyJobs.body.error.code]).toEqual([429, 'too_many_active_jobs'])
    // Another token is not held back by alice's jobs.
    expect((await uploadAs(tokens.bob!, { n_runs: '1' })).status).toBe(201)
  })

  it('limits the body of every route but the upload', async () => {
    const { jobs } = (await call('GET', '/api/jobs', tokens.bob)).body
    const res = await call('POST', `/api/jobs/${jobs[0].job_id}/cancel`, tokens.bob, {
      body: 'x'.repeat(4096),
      headers: { 'content-type': 'text/plain' },
    })
    expect([res.status, res.body.error.code]).toEqual([413, 'request_too_large'])
  })

  it('stops accepting a token the moment it is revoked', async () => {
    expect((await call('GET', '/api/jobs', tokens.bob)).status).toBe(200)
    const revoked = await tokenCommand('revoke', '--name', 'bob')
    expect(revoked.exitCode, revoked.stderr).toBe(0)
    const after = await call('GET', '/api/jobs', tokens.bob)
    expect([after.status, after.body.error.code]).toEqual([401, 'invalid_token'])
    expect((await tokenCommand('revoke', '--name', 'bob')).exitCode).toBe(1)
    // The name can be given again; the new token is a new owner.
    const again = await tokenCommand('create', '--name', 'bob')
    expect(again.exitCode, again.stderr).toBe(0)
    const list = (await call('GET', '/api/jobs', again.stdout.trim())).body
    expect(list.total).toBe(0)
  })
})

describe('listening beyond loopback', () => {
  it('is refused while no token exists, and says how to make one', async () => {
    const db = await createTestDatabase()
    try {
      const config = loadConfig({ ...service.env, DATABASE_URL: db.url, API_HOST: '0.0.0.0' })
      const start = startApiRuntime({
        config,
        logger: createLogger('error', { component: 'test' }),
        databaseUrl: db.url,
        temporalAddress: inject('temporalAddress'),
        masterKey: config.secretsKey!,
        port: 0,
      })
      await expect(start).rejects.toThrow(/API_HOST is 0\.0\.0\.0.*no API token exists.*npm run token/)
    } finally {
      await db.drop()
    }
  })
})
