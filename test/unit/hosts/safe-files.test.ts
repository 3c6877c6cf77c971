/**
 * The local host's file operations below its work dir never follow a symbolic link (in any component
 * of the path), read regular files only, never block on a FIFO, and copy out only regular files and
 * directories, with plain modes, within limits. What a task's container can plant in the trial's
 * bind-mounted `agent/` directory is planted here: a link to a secret outside, a link as a parent
 * directory, a FIFO, a device node, a setuid file, a flood of files.
 */
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RefusedPathError } from '../../../src/hosts/execution-host.js'
import { LocalHost } from '../../../src/hosts/local-host.js'

const SECRET = 'the-worker-secret-5b1c0e'
const LIMITS = { maxBytes: 1024 * 1024, maxFiles: 1000, maxFileBytes: 1024 * 1024 }

let base: string
let host: LocalHost
/** The trial's agent dir, as a task's container sees it (bind-mounted). */
const AGENT = 'runs/j/run-1/attempt-1/jobs/job/trial__x/agent'
const agent = (name = '') => path.join(host.workDir, AGENT, name)

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'hr-safe-files-'))
  const outside = path.join(base, 'outside')
  mkdirSync(outside)
  writeFileSync(path.join(outside, 'secret.key'), SECRET)
  host = new LocalHost('local', path.join(base, 'work'))
  mkdirSync(agent(), { recursive: true })
  writeFileSync(agent('oracle.txt'), 'a line of the agent\n')
  symlinkSync(path.join(outside, 'secret.key'), agent('x.txt'))
  symlinkSync(outside, agent('up'))
  // A link to a file inside the work dir is still a link.
  symlinkSync(agent('oracle.txt'), agent('inside.txt'))
  execFileSync('mkfifo', [agent('fifo.txt')])
  // /dev/zero's numbers: reading it would never end.
  execFileSync('mknod', [agent('zero.txt'), 'c', '1', '5'])
  writeFileSync(agent('suid.sh'), '#!/bin/sh\n')
  chmodSync(agent('suid.sh'), 0o6755)
})
afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true })
})

async function refused(p: Promise<unknown>, kind: 'link' | 'special') {
  const err = await p.then(
    (value) => ({ value }),
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(RefusedPathError)
  expect((err as RefusedPathError).kind).toBe(kind)
}

describe('reads below the work dir', () => {
  it('reads a regular file', async () => {
    expect((await host.readFrom(`${AGENT}/oracle.txt`, 0, 100))?.toString()).toBe('a line of the agent\n')
    expect(await host.fileSize(`${AGENT}/oracle.txt`)).toBe(20)
    expect(await host.readFrom(`${AGENT}/missing.txt`, 0, 100)).toBeNull()
  })

  it('refuses a link to a file outside, whatever the offset', async () => {
    await refused(host.readFrom(`${AGENT}/x.txt`, 0, 100), 'link')
    await refused(host.readFrom(`${AGENT}/x.txt`, 5, 100), 'link')
    await refused(host.fileSize(`${AGENT}/x.txt`), 'link')
    await refused(host.readFrom(`${AGENT}/inside.txt`, 0, 100), 'link')
  })

  it('refuses a link as a directory on the way', async () => {
    await refused(host.readFrom(`${AGENT}/up/secret.key`, 0, 100), 'link')
    await refused(host.fileSize(`${AGENT}/up/secret.key`), 'link')
    await refused(host.list(`${AGENT}/up`), 'link')
  })

  it('refuses a FIFO and a device without opening them', async () => {
    await refused(host.readFrom(`${AGENT}/fifo.txt`, 0, 100), 'special')
    await refused(host.fileSize(`${AGENT}/fifo.txt`), 'special')
    await refused(host.readFrom(`${AGENT}/zero.txt`, 0, 100), 'special')
    await refused(host.fileSize(`${AGENT}/zero.txt`), 'special')
  })

  it('lists names only, at most as many as asked', async () => {
    const names = await host.list(AGENT)
    expect(names).toEqual(['fifo.txt', 'inside.txt', 'oracle.txt', 'suid.sh', 'up', 'x.txt', 'zero.txt'])
    expect(await host.list(AGENT, 3)).toHaveLength(3)
    expect(await host.list(`${AGENT}/oracle.txt`)).toEqual([])
    expect(await host.list(`${AGENT}/nothing`)).toEqual([])
  })
})

describe('copying an output directory', () => {
  it('copies regular files and directories only, without setuid bits, and says what it left out', async () => {
    const local = path.join(base, 'copy')
    const report = await host.getDirectory('runs/j/run-1/attempt-1/jobs', local, LIMITS)
    const copied = path.join(local, 'job/trial__x/agent')
    expect(readdirSync(copied).sort()).toEqual(['oracle.txt', 'suid.sh'])
    expect(statSync(path.join(copied, 'suid.sh')).mode & 0o7777).toBe(0o755)
    expect(await readFile(path.join(copied, 'oracle.txt'), 'utf8')).toBe('a line of the agent\n')
    expect(report.files).toBe(2)
    expect(report.stoppedAt).toBeNull()
    expect(report.leftOut.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'job/trial__x/agent/fifo.txt', why: 'special' },
      { path: 'job/trial__x/agent/inside.txt', why: 'link' },
      { path: 'job/trial__x/agent/up', why: 'link' },
      { path: 'job/trial__x/agent/x.txt', why: 'link' },
      { path: 'job/trial__x/agent/zero.txt', why: 'special' },
    ])
    for (const entry of readdirSync(local, { recursive: true, withFileTypes: true }))
      expect(entry.isFile() || entry.isDirectory()).toBe(true)
  })

  it('stops at the entry limit while copying, and leaves out files past the byte limit', async () => {
    const flood = 'runs/j/run-2/attempt-1/out'
    mkdirSync(path.join(host.workDir, flood, 'many'), { recursive: true })
    // Near the top (breadth first, it comes before the flood).
    writeFileSync(path.join(host.workDir, flood, 'result.json'), '{}')
    for (let i = 0; i < 20_000; i++) writeFileSync(path.join(host.workDir, flood, 'many', `f${i}.txt`), 'x')
    const local = path.join(base, 'flood')
    const t0 = Date.now()
    const report = await host.getDirectory(flood, local, { ...LIMITS, maxFiles: 500 })
    expect(Date.now() - t0).toBeLessThan(10_000)
    expect(report.stoppedAt).toBe(500)
    expect(statSync(path.join(local, 'result.json')).isFile()).toBe(true)
    expect(readdirSync(path.join(local, 'many')).length).toBeLessThan(500)
    // A listing for the follower is cut as well.
    expect(await host.list(`${flood}/many`, 100)).toHaveLength(100)

    const big = 'runs/j/run-3/attempt-1/out'
    mkdirSync(path.join(host.workDir, big), { recursive: true })
    for (const name of ['a', 'b', 'c']) writeFileSync(path.join(host.workDir, big, name), Buffer.alloc(400))
    writeFileSync(path.join(host.workDir, big, 'huge'), Buffer.alloc(2000))
    const cut = await host.getDirectory(big, path.join(base, 'big'), {
      maxBytes: 1000,
      maxFiles: 100,
      maxFileBytes: 1500,
    })
    expect(cut.files).toBe(2)
    expect(cut.bytes).toBe(800)
    expect(cut.leftOut.map((l) => l.why).sort()).toEqual(['over the byte limit', 'too large'])
    expect(lstatSync(path.join(base, 'big', 'huge'), { throwIfNoEntry: false })).toBeUndefined()
  })

  it('rejects with ENOENT for a missing directory', async () => {
    await expect(host.getDirectory('runs/none', path.join(base, 'none'), LIMITS)).rejects.toMatchObject({
      code: 'ENOENT',
    })
  })
})

describe('stopping every harness of the host', () => {
  it('looks for supervisor records only where they are kept, never in what a harness wrote', async () => {
    // A record planted in the agent's dir: a lock the task holds, and the pid of a process of the host.
    const victim = spawn('sleep', ['60'], { stdio: 'ignore' })
    const proc = path.join(host.workDir, 'runs/k/run-1/attempt-1/jobs/job/trial__y/agent/proc')
    mkdirSync(proc, { recursive: true })
    writeFileSync(path.join(proc, 'pid'), String(victim.pid))
    writeFileSync(path.join(proc, 'started'), '1')
    const locker = spawn('flock', [path.join(proc, 'lock'), 'sleep', '60'], { stdio: 'ignore' })
    try {
      await sleep(300)
      expect(await host.stopAllHarnesses(100)).toBe(0)
      expect(victim.exitCode).toBeNull()
      expect(victim.signalCode).toBeNull()
    } finally {
      victim.kill('SIGKILL')
      locker.kill('SIGKILL')
    }
  })
})
