/**
 * Browsers cannot be turned against the API, through the real API (in-process with `app.request()`,
 * and over HTTP where a socket matters: a foreign `Host`):
 *
 * - a request under a name the API does not serve (DNS rebinding) is refused, but for health and
 *   metrics; a browser's change from another origin is refused, in open mode too, and leaves nothing
 *   behind; the API's own origin, API_ALLOWED_ORIGINS and clients without `Origin` are served; no
 *   answer carries CORS headers.
 */
import { readdir } from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { Client, Connection } from '@temporalio/client'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { deleteJob } from '../../src/db/jobs.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { buildZip, harborTask } from '../helpers/task-zips.js'

const FIELDS = { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1' }
const ALLOWED_ORIGIN = 'https://runner.example.com'

let service: TestService
let temporal: Client
let port: string
let task: Buffer

beforeAll(async () => {
  // No worker: jobs stay queued.
  service = await startTestService({ worker: false, env: { API_ALLOWED_ORIGINS: ALLOWED_ORIGIN } })
  port = new URL(service.api.url).port
  task = await buildZip(harborTask())
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) })
})
afterAll(async () => {
  for (const job of (await service?.db.db.selectFrom('jobs').select('id').execute()) ?? []) {
    await temporal.workflow
      .getHandle(`job-${job.id}`)
      .terminate('test over')
      .catch(() => undefined)
  }
  await service?.stop()
  await temporal?.connection.close()
})

interface Answer {
  status: number
  body: any
  headers: Headers
}

/** A request to the app in-process; `headers` as a browser (or an attacker) would send them. */
async function call(
  method: string,
  route: string,
  headers: Record<string, string> = {},
  body?: FormData | string,
): Promise<Answer> {
  const res = await service.api.app.request(route, { method, headers, body })
  const text = await res.text()
  let parsed: any = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers }
}

function form(fields: Record<string, string> = FIELDS, file: Buffer = task): FormData {
  const f = new FormData()
  f.append('file', new Blob([file], { type: 'application/zip' }), 'task.zip')
  for (const [k, v] of Object.entries(fields)) f.append(k, v)
  return f
}

/** A request over a real socket, with the request line and `Host` exactly as given. */
function raw(target: string, host: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: Number(port), path: target, headers: { Host: host } },
      (res) => {
        let text = ''
        res.on('data', (d) => (text += d))
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text || 'null') }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

const jobCount = async () => (await service.db.db.selectFrom('jobs').select('id').execute()).length
const uploadsInProgress = async () => readdir(path.join(service.config.dataDir, 'uploads')).catch(() => [])

describe('in open mode (no token exists)', () => {
  it('refuses requests under a name it does not serve (DNS rebinding), but for health and metrics', async () => {
    const rebound = { Host: `attacker.example:${port}` }
    for (const route of ['/api/jobs', '/api/hosts', '/', '/assets/app.css']) {
      const res = await call('GET', route, rebound)
      expect([route, res.status, res.body.error?.code]).toEqual([route, 421, 'host_not_allowed'])
    }
    const upload = await call('POST', '/api/upload', rebound, form())
    expect([upload.status, upload.body.error.code]).toEqual([421, 'host_not_allowed'])
    expect((await call('GET', '/api/health', rebound)).status).toBe(200)
    expect((await call('GET', '/metrics', rebound)).status).toBe(200)
    // Over a socket: the Host header, and an absolute request line naming another host.
    expect((await raw('/api/jobs', `attacker.example:${port}`)).body.error.code).toBe('host_not_allowed')
    expect((await raw(`http://attacker.example:${port}/api/jobs`, `127.0.0.1:${port}`)).status).toBe(421)
    expect((await raw('/api/jobs', `127.0.0.1:${port}`)).status).toBe(200)
    expect(await jobCount()).toBe(0)
  })

  it('answers under the loopback names, on any port', async () => {
    for (const host of ['localhost', `localhost:${port}`, 'LOCALHOST:1', `127.0.0.1:${port}`, `[::1]:${port}`]) {
      expect([host, (await call('GET', '/api/jobs', { Host: host })).status]).toEqual([host, 200])
    }
    for (const host of ['localhost.attacker.example', '127.0.0.1.nip.io', 'localhost.', '']) {
      expect([host, (await call('GET', '/api/jobs', { Host: host })).status]).toEqual([host, 421])
    }
  })

  it("refuses a browser's change sent from another origin, and leaves nothing behind", async () => {
    const own = { Host: `127.0.0.1:${port}` }
    const { jobId } = await insertTestJob(service.db.db, 1)
    const senders: Record<string, string>[] = [
      { Origin: 'http://attacker.example' },
      { Origin: 'null' }, // a sandboxed frame, a file:// page
      { Origin: 'http://localhost:3000' }, // another local app
      { Origin: `https://127.0.0.1:${Number(port) + 1}` },
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
    ]
    for (const from of senders) {
      const upload = await call('POST', '/api/upload', { ...own, ...from }, form())
      expect([from, upload.status, upload.body.error.code]).toEqual([from, 403, 'origin_not_allowed'])
      const cancel = await call('POST', `/api/jobs/${jobId}/cancel`, { ...own, ...from })
      expect([from, cancel.status]).toEqual([from, 403])
    }
    expect(await jobCount()).toBe(1)
    expect(await uploadsInProgress()).toEqual([])
    await deleteJob(service.db.db, jobId)
  })

  it('takes changes from its own origin, from API_ALLOWED_ORIGINS, and from clients that are not browsers', async () => {
    const own = { Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port}`, 'Sec-Fetch-Site': 'same-origin' }
    const fromPage = await call('POST', '/api/upload', own, form())
    expect(fromPage.status, JSON.stringify(fromPage.body)).toBe(201)
    const fromCurl = await call('POST', '/api/upload', {}, form())
    expect(fromCurl.status).toBe(201)
    const viaProxy = await call('POST', `/api/jobs/${fromCurl.body.job_id}/cancel`, { Origin: ALLOWED_ORIGIN })
    expect(viaProxy.status).toBe(202)
  })

  it('sends no CORS headers, so another origin cannot read an answer', async () => {
    const from = { Origin: 'http://attacker.example' }
    const read = await call('GET', '/api/jobs', from)
    const preflight = await call('OPTIONS', '/api/upload', { ...from, 'Access-Control-Request-Method': 'POST' })
    for (const res of [read, preflight]) {
      expect([...res.headers.keys()].filter((k) => k.startsWith('access-control-'))).toEqual([])
    }
  })
})
