/**
 * What a task's container can plant in the trial's bind-mounted `agent/` directory, as the worker
 * meets it: the log tailer skips a link (or a FIFO) with one runner line per path and never the
 * target's contents; the Harbor driver follows a bounded number of the agent's logs; collecting the
 * output copies no link or special file, strips setuid bits, stops at the limits, and says so in
 * TRUNCATED.txt / NOT-COPIED.txt and once in the run's log.
 */
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectOutput, NOT_COPIED_NOTE, TRUNCATED_NOTE } from '../../src/activities/collect-output.js'
import { listRunLogAfter } from '../../src/db/run-logs.js'
import { AGENT_LOGS_FOLLOWED, harborDriver } from '../../src/harness/harbor/driver.js'
import { LogTailer } from '../../src/logs/log-tailer.js'
import { LocalHost } from '../../src/hosts/local-host.js'
import { makeScrubber } from '../../src/secrets/scrub.js'
import { insertTestJob } from '../helpers/fixtures.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'

const SECRET = 'the-worker-master-key-77d1e3'
const scrub = makeScrubber([])
let tdb: TestDatabase
let base: string
let host: LocalHost
let secretFile: string

beforeAll(async () => {
  tdb = await createTestDatabase()
  base = await mkdtemp(path.join(os.tmpdir(), 'hr-planted-'))
  secretFile = path.join(base, 'secrets.key')
  writeFileSync(secretFile, `${SECRET}\n`)
  host = new LocalHost('local', path.join(base, 'work'))
})
afterAll(async () => {
  await tdb?.drop()
  if (base) await rm(base, { recursive: true, force: true })
})

/** A trial's agent dir under a fresh attempt dir; returns its path relative to the work dir. */
function plantedTrial(attemptDir: string): string {
  const agent = path.join(attemptDir, 'jobs/job/hello__abc/agent')
  const abs = host.absolute(agent)
  mkdirSync(abs, { recursive: true })
  writeFileSync(path.join(abs, 'oracle.txt'), 'solving\n')
  symlinkSync(secretFile, path.join(abs, 'x.txt'))
  symlinkSync(base, path.join(abs, 'up'))
  execFileSync('mkfifo', [path.join(abs, 'pipe.txt')])
  writeFileSync(path.join(abs, 'suid'), 'x')
  chmodSync(path.join(abs, 'suid'), 0o4755)
  return agent
}

async function logOf(runId: string) {
  return listRunLogAfter(tdb.db, runId, 0, 10_000)
}

describe('following the logs of a trial with planted files', () => {
  it('skips a link and a FIFO with one runner line each, and never reads the secret', async () => {
    const { runIds } = await insertTestJob(tdb.db, 1)
    const runId = runIds[0]!
    const agent = plantedTrial('runs/a/run-1/attempt-1')
    const sources = ['oracle.txt', 'x.txt', 'pipe.txt'].map((f) => ({
      key: `hello__abc/agent/${f}`,
      path: `${agent}/${f}`,
      stream: 'agent',
    }))
    sources.push({ key: 'up/secrets.key', path: `${agent}/up/secrets.key`, stream: 'agent' })
    const tailer = new LogTailer(host, tdb.db, runId, 1, scrub)
    await tailer.load()
    await tailer.poll(sources)
    await tailer.poll(sources, true)
    // A second reader (a retried activity) says nothing twice.
    const again = new LogTailer(host, tdb.db, runId, 1, scrub)
    await again.load()
    await again.poll(sources, true)

    const log = await logOf(runId)
    expect(JSON.stringify(log)).not.toContain(SECRET)
    expect(log.map((l) => [l.stream, l.line])).toEqual([
      ['agent', 'solving'],
      ['runner', 'hello__abc/agent/x.txt is a symbolic link: not followed'],
      ['runner', 'hello__abc/agent/pipe.txt is not a regular file: not followed'],
      ['runner', 'up/secrets.key is a symbolic link: not followed'],
    ])
  })

  it('follows at most AGENT_LOGS_FOLLOWED of the agent logs, and says so once', async () => {
    const { runIds } = await insertTestJob(tdb.db, 1)
    const driver = harborDriver()
    const root = 'runs/b/run-1/attempt-1'
    const paths = {
      root,
      task: `${root}/task`,
      proc: `${root}/proc`,
      output: `${root}/jobs`,
      runDir: `${root}/jobs/job`,
    }
    const agent = host.absolute(`${paths.runDir}/hello__abc/agent`)
    mkdirSync(agent, { recursive: true })
    for (let i = 0; i < 5000; i++) writeFileSync(path.join(agent, `step-${i}.txt`), `step ${i}\n`)
    const sources = await driver.logSources(host, paths)
    expect(sources.filter((s) => s.stream === 'agent')).toHaveLength(AGENT_LOGS_FOLLOWED)
    const tailer = new LogTailer(host, tdb.db, runIds[0]!, 1, scrub)
    await tailer.load()
    await tailer.poll(sources)
    await tailer.poll(await driver.logSources(host, paths))
    const notices = (await logOf(runIds[0]!)).filter((l) => l.stream === 'runner')
    expect(notices.map((l) => l.line)).toEqual([
      `hello__abc/agent holds too many files to follow: only the first ${AGENT_LOGS_FOLLOWED} of its text logs are (the rest are in the run's artifacts)`,
    ])
  })
})

describe('collecting the output of a trial with planted files', () => {
  it('copies no link or special file, strips setuid bits, and names what it left out', async () => {
    const { runIds } = await insertTestJob(tdb.db, 1)
    const root = 'runs/c/run-1/attempt-1'
    plantedTrial(root)
    const local = path.join(base, 'artifacts-c')
    mkdirSync(local)
    const target = { db: tdb.db, host, runId: runIds[0]!, attempt: 1, scrub, limits: { maxBytes: 1e6, maxFiles: 1000 } }
    await collectOutput(target, `${root}/jobs`, local, path.join(local, 'jobs'))
    // Collected again (a retried activity): the run's log says it once.
    await collectOutput(target, `${root}/jobs`, local, path.join(local, 'jobs2'))

    const copied = path.join(local, 'jobs/job/hello__abc/agent')
    expect(readdirSync(copied).sort()).toEqual(['oracle.txt', 'suid'])
    expect(statSync(path.join(copied, 'suid')).mode & 0o7777).toBe(0o755)
    expect(existsSync(path.join(local, TRUNCATED_NOTE))).toBe(false)
    const note = readFileSync(path.join(local, NOT_COPIED_NOTE), 'utf8')
    expect(note).toContain('jobs/job/hello__abc/agent/x.txt: a symbolic link (never followed)')
    expect(note).toContain('jobs/job/hello__abc/agent/up: a symbolic link (never followed)')
    expect(note).toContain('jobs/job/hello__abc/agent/pipe.txt: not a regular file')
    for (const f of readdirSync(local, { recursive: true, encoding: 'utf8' })) {
      const file = path.join(local, f)
      if (statSync(file).isFile()) expect(readFileSync(file, 'utf8')).not.toContain(SECRET)
    }
    const lines = (await logOf(runIds[0]!)).map((l) => l.line)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^jobs\/job\/hello__abc\/agent\/\S+ is .*: not copied, nor 2 more like it \(see NOT-COPIED.txt/,
    )
  })

  it('stops at the limits while copying, with TRUNCATED.txt and a runner line', async () => {
    const { runIds } = await insertTestJob(tdb.db, 1)
    const out = host.absolute('runs/d/run-1/attempt-1/jobs')
    mkdirSync(path.join(out, 'job/flood'), { recursive: true })
    writeFileSync(path.join(out, 'job/result.json'), '{"reward": 1}')
    for (let i = 0; i < 3000; i++) writeFileSync(path.join(out, 'job/flood', `f${i}`), 'x')
    const local = path.join(base, 'artifacts-d')
    mkdirSync(local)
    const target = { db: tdb.db, host, runId: runIds[0]!, attempt: 1, scrub, limits: { maxBytes: 1e6, maxFiles: 100 } }
    await collectOutput(target, 'runs/d/run-1/attempt-1/jobs', local, path.join(local, 'jobs'))
    expect(readFileSync(path.join(local, 'jobs/job/result.json'), 'utf8')).toBe('{"reward": 1}')
    expect(readdirSync(path.join(local, 'jobs/job/flood')).length).toBeLessThan(100)
    expect(readFileSync(path.join(local, TRUNCATED_NOTE), 'utf8')).toContain(
      'The copy stopped after looking at 100 entries',
    )
    expect((await logOf(runIds[0]!)).map((l) => [l.stream, l.line])).toEqual([
      [
        'runner',
        "the attempt's output was cut at 100 files (ARTIFACT_MAX_FILES) when collected: see TRUNCATED.txt in the run's artifacts",
      ],
    ])
  })
})
