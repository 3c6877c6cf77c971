/**
 * Browsers cannot be turned against the API, through the real API (in-process with `app.request()`,
 * and over HTTP where a socket matters: a foreign `Host`, a client that goes away):
 *
 * - a request under a name the API does not serve (DNS rebinding) is refused, but for health and
 *   metrics; a browser's change from another origin is refused, in open mode too, and leaves nothing
 *   behind; the API's own origin, API_ALLOWED_ORIGINS and clients without `Origin` are served; no
 *   answer carries CORS headers;
 * - tokens never ride in URLs: `?access_token=` is refused; tickets open their one URL, for the
 *   token they were issued to, for a minute, and stop with a revoked token or the end of open mode;
 * - event streams and uploads are capped per token, and a slot comes back however a request ends;
 * - `GET /api/hosts` shows addresses and problems to admins only.
 */
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { Client, Connection } from '@temporalio/client'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { issueTicket, ticketKey } from '../../src/api/tickets.js'
import { announceHost } from '../../src/db/hosts.js'
import { deleteJob } from '../../src/db/jobs.js'
import { createToken, revokeToken } from '../../src/db/tokens.js'
import { eventually } from '../helpers/eventually.js'
import { recordAttacks } from '../helpers/reliability.js'
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
  // No worker: jobs stay queued and their streams stay open. Small caps, to reach them.
  service = await startTestService({
    worker: false,
    env: { MAX_STREAMS_PER_TOKEN: '2', MAX_UPLOADS_PER_TOKEN: '1', API_ALLOWED_ORIGINS: ALLOWED_ORIGIN },
  })
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

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })
const jobCount = async () => (await service.db.db.selectFrom('jobs').select('id').execute()).length
const uploadsInProgress = async () => readdir(path.join(service.config.dataDir, 'uploads')).catch(() => [])

let openTicketUrl: string

describe('in open mode (no token exists)', () => {
  recordAttacks('cross_site')
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

  it('gives tickets to everyone while open', async () => {
    const { jobId } = await insertTestJob(service.db.db, 1)
    const res = await call(
      'POST',
      '/api/stream-tickets',
      { 'Content-Type': 'application/json' },
      JSON.stringify({ purpose: 'run_log', job_id: jobId, run_number: 1 }),
    )
    expect(res.status).toBe(201)
    openTicketUrl = res.body.url
    expect((await call('GET', openTicketUrl)).status).toBe(200)
  })
})

describe('with tokens', () => {
  const tokens: Record<string, { id: string; token: string }> = {}
  let aliceJob: string
  let bobJob: string

  /** Asks for a ticket as `token`; the answer as is. */
  const ticketFor = (token: string | null, target: object) =>
    call(
      'POST',
      '/api/stream-tickets',
      { 'Content-Type': 'application/json', ...(token ? bearer(token) : {}) },
      JSON.stringify(target),
    )
  const urlFor = async (token: string, target: object) => {
    const res = await ticketFor(token, target)
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body.url as string
  }

  beforeAll(async () => {
    tokens.alice = await createToken(service.db.db, 'alice', false)
    tokens.bob = await createToken(service.db.db, 'bob', false)
    tokens.root = await createToken(service.db.db, 'root', true)
    const own = async (owner: string) => {
      const { jobId } = await insertTestJob(service.db.db, 2)
      await service.db.db.updateTable('jobs').set({ owner_token_id: owner }).where('id', '=', jobId).execute()
      return jobId
    }
    aliceJob = await own(tokens.alice.id)
    bobJob = await own(tokens.bob.id)
  })

  describe('tickets', () => {
    recordAttacks('token_in_url')
    it('refuses an API token in the URL, valid or not, with a code that says to use a ticket', async () => {
      for (const route of [
        '/api/jobs',
        `/api/jobs/${aliceJob}/runs/1/logs/stream`,
        `/api/jobs/${aliceJob}/runs/1/logs`,
      ]) {
        const res = await call('GET', `${route}?access_token=${tokens.alice!.token}`)
        expect([route, res.status, res.body.error.code]).toEqual([route, 401, 'token_in_query'])
        expect(res.body.error.message).toContain('/api/stream-tickets')
      }
      const change = await call('POST', `/api/jobs/${aliceJob}/cancel?access_token=${tokens.alice!.token}`)
      expect(change.body.error.code).toBe('token_in_query')
    })

    it('opens the one URL it is for, for a minute, without the token in it', async () => {
      const before = Date.now()
      const res = await ticketFor(tokens.alice!.token, { purpose: 'run_log', job_id: aliceJob, run_number: 1 })
      expect(res.status).toBe(201)
      expect(Date.parse(res.body.expires_at) - before).toBeGreaterThan(55_000)
      expect(Date.parse(res.body.expires_at) - before).toBeLessThanOrEqual(61_000)
      expect(res.body.url).toBe(`/api/jobs/${aliceJob}/runs/1/logs?ticket=${res.body.ticket}`)
      expect(res.body.url).not.toContain(tokens.alice!.token)
      expect(res.body.url).not.toContain(tokens.alice!.token.slice(3, 20))
      const log = await call('GET', res.body.url)
      expect(log.status).toBe(200)
      expect(log.headers.get('content-type')).toContain('text/plain')
      // Used again (an EventSource reconnects with the same URL): still good while it lasts.
      expect((await call('GET', res.body.url)).status).toBe(200)
      const artifacts = await urlFor(tokens.alice!.token, {
        purpose: 'run_artifacts',
        job_id: aliceJob,
        run_number: 1,
      })
      expect((await call('GET', artifacts)).body.error.code).toBe('no_artifacts') // let in; nothing collected yet
      for (const target of [
        { purpose: 'run_log_stream', job_id: aliceJob, run_number: 1 },
        { purpose: 'job_events', job_id: aliceJob },
      ]) {
        const stream = await fetch(`${service.api.url}${await urlFor(tokens.alice!.token, target)}`)
        expect([target, stream.status, stream.headers.get('content-type')]).toEqual([target, 200, 'text/event-stream'])
        await stream.body!.cancel()
      }
    })

    it('is refused at any other URL: another run, job or purpose, any other route, any change', async () => {
      const stream = await urlFor(tokens.alice!.token, { purpose: 'run_log_stream', job_id: aliceJob, run_number: 1 })
      const events = await urlFor(tokens.alice!.token, { purpose: 'job_events', job_id: aliceJob })
      const ticketOf = (url: string) => new URL(url, 'http://x').searchParams.get('ticket')!
      for (const [ticket, route] of [
        [stream, `/api/jobs/${aliceJob}/runs/1/logs`],
        [stream, `/api/jobs/${aliceJob}/runs/1/artifacts`],
        [stream, `/api/jobs/${aliceJob}/runs/2/logs/stream`],
        [stream, `/api/jobs/${bobJob}/runs/1/logs/stream`],
        [stream, `/api/jobs/${aliceJob.toUpperCase()}/runs/1/logs/stream`],
        [stream, `/api/jobs/${aliceJob}/runs/1`],
        [stream, '/api/jobs'],
        [stream, '/api/hosts'],
        [events, `/api/jobs/${aliceJob}`],
        [events, `/api/jobs/${aliceJob}/runs/1/logs/stream`],
      ] as const) {
        const res = await call('GET', `${route}?ticket=${ticketOf(ticket)}`)
        expect([route, res.status, res.body.error?.code]).toEqual([route, 403, 'ticket_wrong_resource'])
      }
      const change = await call('POST', `/api/jobs/${aliceJob}/cancel?ticket=${ticketOf(events)}`)
      expect([change.status, change.body.error.code]).toEqual([401, 'token_required'])
    })

    it('is refused when altered, forged with another key, or given twice', async () => {
      const url = await urlFor(tokens.alice!.token, { purpose: 'run_log', job_id: aliceJob, run_number: 1 })
      const route = `/api/jobs/${aliceJob}/runs/1/logs`
      const ticket = new URL(url, 'http://x').searchParams.get('ticket')!
      const [payload, signature] = ticket.split('.') as [string, string]
      // The same claims for bob's token, under alice's signature.
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
      claims[3] = tokens.bob!.id
      const swapped = `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
      const forged = issueTicket(ticketKey(randomBytes(32)), {
        purpose: 'run_log',
        jobId: aliceJob,
        runNumber: 1,
        tokenId: tokens.root!.id,
        expiresAt: Date.now() + 60_000,
      })
      for (const bad of [swapped, forged, `${ticket}x`, 'not-a-ticket', '', 'a'.repeat(5000)]) {
        const res = await call('GET', `${route}?ticket=${encodeURIComponent(bad)}`)
        expect([bad.slice(0, 20), res.status, res.body.error.code]).toEqual([bad.slice(0, 20), 401, 'invalid_ticket'])
      }
      const twice = await call('GET', `${route}?ticket=${ticket}&ticket=${ticket}`)
      expect(twice.body.error.code).toBe('invalid_ticket')
    })

    it('is given only for what the token may see, and for a well-formed request', async () => {
      const alice = tokens.alice!.token
      for (const [target, status, code] of [
        [{ purpose: 'run_log', job_id: bobJob, run_number: 1 }, 404, 'job_not_found'],
        [{ purpose: 'job_events', job_id: bobJob }, 404, 'job_not_found'],
        [{ purpose: 'run_log', job_id: aliceJob, run_number: 9 }, 404, 'run_not_found'],
        [{ purpose: 'run_log', job_id: aliceJob }, 400, 'invalid_run_number'],
        [{ purpose: 'job_events', job_id: aliceJob, run_number: 1 }, 400, 'invalid_run_number'],
        [{ purpose: 'admin', job_id: aliceJob }, 400, 'invalid_purpose'],
        [{ purpose: 'run_log', job_id: '../etc', run_number: 1 }, 400, 'invalid_job_id'],
        [{ purpose: 'job_events', job_id: aliceJob, extra: 1 }, 400, 'invalid_body'],
      ] as const) {
        const res = await ticketFor(alice, target)
        expect([target, res.status, res.body.error.code]).toEqual([target, status, code])
      }
      const notJson = await call('POST', '/api/stream-tickets', bearer(alice), 'purpose=job_events')
      expect(notJson.body.error.code).toBe('invalid_body')
      const anonymous = await ticketFor(null, { purpose: 'job_events', job_id: aliceJob })
      expect(anonymous.body.error.code).toBe('token_required')
      // An admin's ticket opens any job's.
      expect(
        (await call('GET', await urlFor(tokens.root!.token, { purpose: 'run_log', job_id: bobJob, run_number: 1 })))
          .status,
      ).toBe(200)
    })

    it('expires after a minute', async () => {
      const url = await urlFor(tokens.alice!.token, { purpose: 'run_log', job_id: aliceJob, run_number: 1 })
      vi.useFakeTimers({ toFake: ['Date'] })
      try {
        vi.setSystemTime(Date.now() + 58_000)
        expect((await call('GET', url)).status).toBe(200)
        vi.setSystemTime(Date.now() + 3_000)
        const late = await call('GET', url)
        expect([late.status, late.body.error.code]).toEqual([401, 'ticket_expired'])
      } finally {
        vi.useRealTimers()
      }
    })

    it("stops with its token: a revoked token's tickets, and open mode's once it has ended", async () => {
      const carol = await createToken(service.db.db, 'carol', false)
      await service.db.db.updateTable('jobs').set({ owner_token_id: carol.id }).where('id', '=', bobJob).execute()
      const url = await urlFor(carol.token, { purpose: 'run_log', job_id: bobJob, run_number: 1 })
      expect((await call('GET', url)).status).toBe(200)
      await revokeToken(service.db.db, 'carol')
      const revoked = await call('GET', url)
      expect([revoked.status, revoked.body.error.code]).toEqual([401, 'invalid_token'])
      await service.db.db.updateTable('jobs').set({ owner_token_id: tokens.bob!.id }).where('id', '=', bobJob).execute()

      const open = await call('GET', openTicketUrl)
      expect([open.status, open.body.error.code]).toEqual([401, 'token_required'])
    })
  })

  describe('per-token caps', () => {
    recordAttacks('per_token_caps')
    /** Opens an event stream over HTTP and keeps it open; `close()` is the client going away. */
    async function openStream(token: string, route: string) {
      const controller = new AbortController()
      const res = await fetch(`${service.api.url}${route}`, { headers: bearer(token), signal: controller.signal })
      const answer = { status: res.status, headers: res.headers, body: null as any, close: () => controller.abort() }
      if (res.status !== 200) answer.body = await res.json()
      return answer
    }
    const logStream = (job: string, run = 1) => `/api/jobs/${job}/runs/${run}/logs/stream`
    /** Opens one as soon as a slot is free (a stream closed just before gives its slot back soon after). */
    const whenFree = (token: string, route: string) =>
      eventually(
        () => openStream(token, route),
        (s) => s.status === 200,
        { timeoutMs: 5_000, everyMs: 100 },
      )

    it('allows MAX_STREAMS_PER_TOKEN event streams per token at once, and gives a slot back when a client leaves', async () => {
      const alice = tokens.alice!.token
      const held = [await whenFree(alice, logStream(aliceJob)), await whenFree(alice, `/api/jobs/${aliceJob}/events`)]
      expect(held.map((s) => s.status)).toEqual([200, 200])
      for (const route of [logStream(aliceJob, 2), `/api/jobs/${aliceJob}/events`]) {
        const third = await openStream(alice, route)
        expect([third.status, third.body.error.code, third.headers.get('retry-after')]).toEqual([
          429,
          'too_many_streams',
          '10',
        ])
      }
      // Another token counts its own.
      const bob = await openStream(tokens.bob!.token, logStream(bobJob))
      expect(bob.status).toBe(200)
      bob.close()
      // The client goes away: its slot comes back.
      held[0]!.close()
      const again = await whenFree(alice, logStream(aliceJob))
      expect(again.status).toBe(200)
      again.close()
      held[1]!.close()
    })

    it('gives a slot back when a stream ends, and when it fails', async () => {
      const alice = tokens.alice!.token
      const settled = () =>
        eventually(
          async () => {
            const probes = [await openStream(alice, logStream(aliceJob)), await openStream(alice, logStream(aliceJob))]
            for (const p of probes) p.close()
            return probes.map((p) => p.status)
          },
          (s) => s.every((x) => x === 200),
          { timeoutMs: 10_000, everyMs: 200 },
        )
      expect(await settled()).toEqual([200, 200])
      // Ended: a run that is over sends its end and closes; three in turn within a cap of two.
      await service.db.db.updateTable('runs').set({ status: 'completed' }).where('job_id', '=', bobJob).execute()
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${service.api.url}${logStream(bobJob, 2)}`, { headers: bearer(tokens.bob!.token) })
        expect(await res.text()).toContain('event: end')
      }
      // Failed: the job vanishes under two open streams, which fail at their next look.
      const { jobId } = await insertTestJob(service.db.db, 1)
      await service.db.db
        .updateTable('jobs')
        .set({ owner_token_id: tokens.alice!.id })
        .where('id', '=', jobId)
        .execute()
      const doomed = [await whenFree(alice, logStream(jobId)), await whenFree(alice, `/api/jobs/${jobId}/events`)]
      expect(doomed.map((s) => s.status)).toEqual([200, 200])
      expect((await openStream(alice, logStream(aliceJob))).status).toBe(429)
      await deleteJob(service.db.db, jobId)
      expect(await settled()).toEqual([200, 200])
      for (const s of doomed) s.close()
    })

    it('allows MAX_UPLOADS_PER_TOKEN uploads per token at once, and gives a slot back however one ends', async () => {
      const alice = bearer(tokens.alice!.token)
      // An upload that sends its first part and then waits, as a slow client does.
      const boundary = 'x-boundary'
      let feed!: ReadableStreamDefaultController<Uint8Array>
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (feed = c) })
      feed.enqueue(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nopenai/gpt-4o\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="t.zip"\r\n` +
            'Content-Type: application/zip\r\n\r\n',
        ),
      )
      const controller = new AbortController()
      const slow = fetch(`${service.api.url}/api/upload`, {
        method: 'POST',
        headers: { ...alice, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
        body,
        duplex: 'half',
        signal: controller.signal,
      } as RequestInit).catch((err: unknown) => err)
      expect(await eventually(uploadsInProgress, (d) => d.length === 1)).toHaveLength(1)

      const second = await call('POST', '/api/upload', alice, form())
      expect([second.status, second.body.error.code, second.headers.get('retry-after')]).toEqual([
        429,
        'too_many_uploads',
        '5',
      ])
      // Another token is not held back (its bad upload is refused for what it is).
      const bobs = await call('POST', '/api/upload', bearer(tokens.bob!.token), form(FIELDS, Buffer.from('no zip')))
      expect(bobs.body.error.code).toBe('not_a_zip')
      // The slow client gives up: its slot comes back, and its half upload is gone.
      controller.abort()
      await slow
      const after = await eventually(
        () => call('POST', '/api/upload', alice, form(FIELDS, Buffer.from('no zip'))),
        (r) => r.status !== 429,
        { timeoutMs: 5_000, everyMs: 100 },
      )
      expect(after.body.error.code).toBe('not_a_zip')
      expect(await eventually(uploadsInProgress, (d) => d.length === 0)).toEqual([])
      // Refused uploads give theirs back too: one at a time, each after another refused one.
      for (let i = 0; i < 3; i++) {
        expect((await call('POST', '/api/upload', alice, form(FIELDS, Buffer.from('no zip')))).status).toBe(400)
      }
      expect((await call('POST', '/api/upload', alice, form())).status).toBe(201)
    })
  })

  describe('GET /api/hosts', () => {
    recordAttacks('hosts_view')
    it("shows a host's address and problem to admins only", async () => {
      await announceHost(service.db.db, {
        id: 'far',
        kind: 'ssh',
        address: 'runner@10.9.8.7:2222',
        slots: 4,
        healthy: false,
        problem: 'connect ECONNREFUSED 10.9.8.7:2222 as runner with /home/runner/.ssh/id_ed25519',
      })
      const admin = await call('GET', '/api/hosts', bearer(tokens.root!.token))
      expect(admin.body.hosts).toEqual([
        expect.objectContaining({
          id: 'far',
          address: 'runner@10.9.8.7:2222',
          problem: expect.stringMatching(/REFUSED/),
        }),
      ])
      const user = await call('GET', '/api/hosts', bearer(tokens.alice!.token))
      expect(user.body.hosts).toEqual([{ id: 'far', slots: 4, busy: 0, available: false }])
      expect(JSON.stringify(user.body)).not.toMatch(/10\.9\.8\.7|runner@|id_ed25519/)
    })
  })
})
