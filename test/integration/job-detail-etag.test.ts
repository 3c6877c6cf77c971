/**
 * `GET /api/jobs/{id}` answers with an ETag, 304 to a client that sends it back while the job is
 * unchanged, and never a stale body or a stale 304 after any kind of write the job's page shows:
 * a log line, a status, a new attempt, an attempt's phases, the job's own row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { markJobRunning } from '../../src/db/jobs.js'
import { appendRunLog } from '../../src/db/run-logs.js'
import { errorOutcome } from '../../src/shared/outcome.js'
import { finishAttempt, setRunStatus, startAttempt } from '../../src/db/runs.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { startTestService, type TestService } from '../helpers/service.js'

let service: TestService
let jobId: string
let runIds: string[]

beforeAll(async () => {
  service = await startTestService({ worker: false })
  ;({ jobId, runIds } = await insertTestJob(service.db.db, 3))
})
afterAll(() => service?.stop())

async function get(etag?: string) {
  const res = await fetch(`${service.api.url}/api/jobs/${jobId}`, {
    headers: etag ? { 'If-None-Match': etag } : {},
  })
  const text = await res.text()
  return {
    status: res.status,
    etag: res.headers.get('etag'),
    timing: res.headers.get('server-timing'),
    text,
    body: text ? JSON.parse(text) : null,
  }
}

describe('GET /api/jobs/{id} with an ETag', () => {
  it('answers 304 to its own tag while nothing changed, in any of the header forms', async () => {
    const first = await get()
    expect(first.status).toBe(200)
    expect(first.etag).toMatch(/^"[^"]+"$/)
    expect(first.body.runs).toHaveLength(3)
    expect(first.timing).toMatch(/(^|,\s*)job;dur=[\d.]+;desc="the job and its version"/)
    expect(first.timing).toMatch(/(^|,\s*)auth;dur=[\d.]+;desc="the token checked"/)
    expect(first.timing).toMatch(/(^|,\s*)total;dur=[\d.]+/)
    const again = await get()
    expect(again).toMatchObject({ status: 200, etag: first.etag, text: first.text })
    for (const header of [first.etag!, `W/${first.etag}`, `"other", ${first.etag}`, '*']) {
      const res = await get(header)
      expect(res.status, header).toBe(304)
      expect(res.text).toBe('')
      expect(res.etag).toBe(first.etag)
    }
    expect((await get('"something-else"')).status).toBe(200)
  })

  it('answers the new state, under a new tag, after each kind of write', async () => {
    const [a, b] = runIds as [string, string]
    const writes: { name: string; write: () => Promise<unknown>; shows: (body: any) => boolean }[] = [
      {
        name: 'a log line',
        write: () => appendRunLog(service.db.db, a, 1, [{ stream: 'harbor', line: 'hello' }]),
        shows: (body) => body.runs[0].log_lines === 1,
      },
      {
        name: "a run's status",
        write: () => setRunStatus(service.db.db, b, 'staging', 1),
        shows: (body) => body.runs[1].status === 'staging',
      },
      {
        name: 'a new attempt',
        write: () => startAttempt(service.db.db, b, 1, 'elsewhere'),
        shows: (body) => body.runs[1].host === 'elsewhere' && body.runs[1].attempts === 1,
      },
      {
        name: "an attempt's phases",
        write: () =>
          finishAttempt(
            service.db.db,
            b,
            1,
            {
              ...errorOutcome('infra', 'x'),
              phases: { agent_setup: { started_at: '2026-01-01T00:00:00Z', finished_at: '2026-01-01T00:00:02Z' } },
            },
            null,
          ),
        shows: (body) => body.runs[1].phase_durations?.agent_setup === 2,
      },
      {
        name: "the job's row",
        write: () => markJobRunning(service.db.db, jobId),
        shows: (body) => body.status === 'running',
      },
    ]
    let before = await get()
    for (const { name, write, shows } of writes) {
      expect(shows(before.body), name).toBe(false)
      await write()
      const after = await get(before.etag!)
      expect(after.status, name).toBe(200)
      expect(after.etag, name).not.toBe(before.etag)
      expect(shows(after.body), name).toBe(true)
      expect((await get(after.etag!)).status, name).toBe(304)
      // Unconditional: the kept body is the one of the new state.
      expect((await get()).text, name).toBe(after.text)
      before = after
    }
  })

  it('tags only a job that exists and the caller may see', async () => {
    const missing = await fetch(`${service.api.url}/api/jobs/00000000-0000-4000-8000-000000000000`, {
      headers: { 'If-None-Match': '*' },
    })
    expect(missing.status).toBe(404)
    expect(missing.headers.get('etag')).toBeNull()
    // Errors are timed too.
    expect(missing.headers.get('server-timing')).toMatch(/(^|,\s*)total;dur=[\d.]+/)
  })
})
