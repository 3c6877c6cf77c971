/**
 * When a follower reads a harness's files, on a real local host (inotify) and on a host that cannot
 * watch (as over SSH): which files each read takes, and how soon after a write it comes.
 */
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Follower, RELIST_EVERY_MS } from '../../../src/logs/follower.js'
import type { AttemptPaths } from '../../../src/harness/driver.js'
import type { LogSource } from '../../../src/logs/log-tailer.js'
import { LocalHost } from '../../../src/hosts/local-host.js'
import type { ExecutionHost } from '../../../src/hosts/execution-host.js'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const paths: AttemptPaths = { root: 'a', task: 'a/task', proc: 'a/proc', output: 'a/out', runDir: 'a/out/job' }

/**
 * Like Harbor's: proc/stderr, the trajectory in `out/job/trial/agent` (a directory made later, as
 * Harbor's trial dir is) and every `.txt` there.
 */
const driver = {
  async logSources(host: ExecutionHost): Promise<LogSource[]> {
    const agent = 'a/out/job/trial/agent'
    const txt = (await host.list(agent)).filter((f) => f.endsWith('.txt'))
    return [
      { key: 'stderr', path: 'a/proc/stderr', stream: 'stderr' },
      { key: 'trajectory', path: `${agent}/trajectory.json`, stream: 'trajectory', kind: 'trajectory' as const },
      ...txt.map((f) => ({ key: f, path: `${agent}/${f}`, stream: 'agent' })),
    ]
  },
}

let host: LocalHost
let polls: string[][]
const reader = {
  async poll(sources: readonly LogSource[]) {
    polls.push(sources.map((s) => s.key))
    return []
  },
}

beforeEach(async () => {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'hr-follower-'))
  dirs.push(workDir)
  host = new LocalHost('follower-test', workDir)
  await mkdir(path.join(workDir, 'a/proc'), { recursive: true })
  await mkdir(path.join(workDir, 'a/out/job'), { recursive: true })
  await writeFile(path.join(workDir, 'a/proc/stderr'), '')
  polls = []
})

const timed = async (p: Promise<void>) => {
  const t0 = Date.now()
  await p
  return Date.now() - t0
}

/** A follower of `host`'s attempt, closed after the test. */
const followers: Follower[] = []
afterEach(() => followers.splice(0).forEach((f) => f.close()))
function follow(mode: ConstructorParameters<typeof Follower>[4], on: ExecutionHost = host): Follower {
  const follower = new Follower(on, driver, paths, reader, mode)
  followers.push(follower)
  return follower
}

/** Appends to `rel` a tenth of a second from now: the follower must wake for it well before its relist. */
async function wakesOnAppend(follower: Follower, rel: string) {
  setTimeout(() => void appendFile(host.absolute(rel), 'a line\n'), 100)
  expect(await timed(follower.next())).toBeLessThan(RELIST_EVERY_MS / 2)
}

describe('Follower on a host that watches (local)', () => {
  const mode = () => ({ pollMs: 250, watch: true, minGapMs: 50 })

  it('reads a file soon after it is written, and only that file', async () => {
    const follower = follow(mode)
    expect(follower.canWatch).toBe(true)
    await follower.read()
    expect(polls).toEqual([['stderr', 'trajectory']])
    await wakesOnAppend(follower, 'a/proc/stderr')
    await follower.read()
    expect(polls.at(-1)).toEqual(['stderr'])
  })

  it('notices a log file in a directory made after it started, through the nearest existing parent', async () => {
    const follower = follow(mode)
    await follower.read()
    setTimeout(async () => {
      await mkdir(host.absolute('a/out/job/trial/agent'), { recursive: true })
      await writeFile(host.absolute('a/out/job/trial/agent/oracle.txt'), 'hello\n')
    }, 100)
    expect(await timed(follower.next())).toBeLessThan(RELIST_EVERY_MS / 2)
    // Listed again once the change is a quarter second old, then followed like the others.
    const started = Date.now()
    while (!polls.some((p) => p.includes('oracle.txt'))) {
      await follower.next()
      await follower.read()
      expect(Date.now() - started).toBeLessThan(RELIST_EVERY_MS)
    }
    polls = []
    await wakesOnAppend(follower, 'a/out/job/trial/agent/oracle.txt')
    await follower.read()
    expect(polls).toEqual([['oracle.txt']])
  })

  it('waits no longer than the relist interval when nothing changes, then reads everything', async () => {
    const follower = follow(mode)
    await follower.read()
    const waited = await timed(follower.next())
    expect(waited).toBeGreaterThanOrEqual(RELIST_EVERY_MS - 20)
    await follower.read()
    expect(polls.at(-1)).toEqual(['stderr', 'trajectory'])
  })
})

describe('Follower polling', () => {
  it('polls every file, and watches nothing, while its worker follows too many harnesses', async () => {
    let watch = false
    const follower = follow(() => ({ pollMs: 120, watch, minGapMs: 50 }))
    await follower.read()
    setTimeout(() => void appendFile(host.absolute('a/proc/stderr'), 'a line\n'), 20)
    const waited = await timed(follower.next())
    expect(waited).toBeGreaterThanOrEqual(100)
    expect(waited).toBeLessThan(1000)
    await follower.read()
    expect(polls).toEqual([
      ['stderr', 'trajectory'],
      ['stderr', 'trajectory'],
    ])
    // Back to watching: the directories are watched again, and a write wakes it at once.
    watch = true
    await follower.read()
    await wakesOnAppend(follower, 'a/proc/stderr')
  })

  it('reads every file at each poll interval', async () => {
    const polling: ExecutionHost = Object.create(host, { watch: { value: undefined } })
    const follower = follow(() => ({ pollMs: 120, watch: true, minGapMs: 50 }), polling)
    expect(follower.canWatch).toBe(false)
    await mkdir(host.absolute('a/out/job/trial/agent'), { recursive: true })
    await writeFile(host.absolute('a/out/job/trial/agent/oracle.txt'), 'hello\n')
    await follower.read()
    const waited = await timed(follower.next())
    expect(waited).toBeGreaterThanOrEqual(100)
    expect(waited).toBeLessThan(1000)
    await follower.read()
    expect(polls).toEqual([
      ['stderr', 'trajectory', 'oracle.txt'],
      ['stderr', 'trajectory', 'oracle.txt'],
    ])
  })
})
