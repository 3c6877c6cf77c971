/**
 * Harness phases are resolved as log lines are written: the log tailer asks the harness's driver
 * the phase of each entry, stores it with the `phase` line (and moves the run's phase), and the log
 * stream serves what is stored, knowing no harness's phase table. Through the tailer on a real
 * database, and through the route (`app.request()`).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendRunLog, listRunLogAfter } from '../../src/db/run-logs.js'
import { findRunById, setRunStatus } from '../../src/db/runs.js'
import { harborDriver } from '../../src/harness/harbor/driver.js'
import { terminusDriver } from '../../src/harness/terminus/driver.js'
import { LocalHost } from '../../src/hosts/local-host.js'
import { LogTailer } from '../../src/logs/log-tailer.js'
import { createTestApp, type TestApp } from '../helpers/api-app.js'
import { insertTestJob } from '../helpers/fixtures.js'

let t: TestApp
let base: string
let host: LocalHost
beforeAll(async () => {
  t = await createTestApp()
  base = await mkdtemp(path.join(os.tmpdir(), 'hr-log-phases-'))
  host = new LocalHost('local', base)
})
afterAll(async () => {
  await t?.close()
  if (base) await rm(base, { recursive: true, force: true })
})

/** A file below the work dir with these lines. */
function write(rel: string, lines: string[]): string {
  mkdirSync(path.dirname(path.join(base, rel)), { recursive: true })
  writeFileSync(path.join(base, rel), lines.map((l) => `${l}\n`).join(''))
  return rel
}

async function runningRun(): Promise<string> {
  const runId = (await insertTestJob(t.db.db, 1)).runIds[0]!
  await setRunStatus(t.db.db, runId, 'running', 1)
  return runId
}

const phaseLines = async (runId: string) =>
  (await listRunLogAfter(t.db.db, runId, 0, 100))
    .filter((l) => l.stream === 'phase')
    .map((l) => [JSON.parse(l.line).event, l.phase])

describe('the log tailer', () => {
  it("stores with each of Harbor's phase events the phase it begins, and moves the run's", async () => {
    const runId = await runningRun()
    const events = write('h/events.jsonl', [
      '{"event": "trial_started", "trial": "t", "time": "2026-01-01T00:00:00Z"}',
      '{"event": "agent_started", "trial": "t", "time": "2026-01-01T00:00:01Z"}',
      '{"event": "something_new", "trial": "t", "time": "2026-01-01T00:00:02Z"}',
    ])
    const tailer = new LogTailer(host, t.db.db, runId, 1, (l) => l, harborDriver().phaseOf)
    await tailer.load()
    await tailer.poll([{ key: 'events', path: events, stream: 'phase' }])
    expect(await phaseLines(runId)).toEqual([
      ['trial_started', 'environment_setup'],
      ['agent_started', 'agent'],
      ['something_new', null],
    ])
    expect((await findRunById(t.db.db, runId))?.phase).toBe('agent')
  })

  it('gives a harness without phase events one, with its phase, when its phase changes', async () => {
    const runId = await runningRun()
    const driver = terminusDriver({ bin: 'tb', env: {} })
    const tailer = new LogTailer(host, t.db.db, runId, 1, (l) => l, driver.phaseOf)
    await tailer.load()
    await tailer.poll([{ key: 'agent', path: write('t/agent.log', ['$ ls', 'solution.sh']), stream: 'agent' }])
    await tailer.poll([{ key: 'tests', path: write('t/tests.log', ['1 passed']), stream: 'verifier' }])
    expect(await phaseLines(runId)).toEqual([
      ['phase_changed', 'agent'],
      ['phase_changed', 'verifier'],
    ])
    expect((await findRunById(t.db.db, runId))?.phase).toBe('verifier')
  })
})

describe('the log stream', () => {
  it('serves the phase stored with a phase line, whatever its event', async () => {
    const { jobId, runIds } = await insertTestJob(t.db.db, 1)
    const runId = runIds[0]!
    await setRunStatus(t.db.db, runId, 'running', 1)
    // A phase the line's own event does not say (Harbor's agent_started begins `agent`): the
    // stream must take the stored one, not work it out again.
    const line = '{"event": "agent_started", "trial": "t", "time": "2026-01-01T00:00:01Z"}'
    await appendRunLog(t.db.db, runId, 1, [{ stream: 'phase', line, phase: 'agent_setup' }])
    await setRunStatus(t.db.db, runId, 'cancelled', 1)

    const res = await t.app.request(`/api/jobs/${jobId}/runs/1/logs/stream`)
    expect(res.status).toBe(200)
    const events = (await res.text())
      .split('\n\n')
      .map((block) => ({
        event: /^event: (.*)$/m.exec(block)?.[1],
        data: /^data: (.*)$/m.exec(block)?.[1],
      }))
      .filter((e) => e.event === 'phase')
      .map((e) => JSON.parse(e.data!))
    expect(events).toEqual([
      expect.objectContaining({ event: 'agent_started', phase: 'agent_setup', harness_time: '2026-01-01T00:00:01Z' }),
    ])
  })
})
