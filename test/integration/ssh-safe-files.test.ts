/**
 * An SSH host's file operations (through its file helper, remote-files.ts and safe_files.py) against
 * a real sshd on loopback: what a task's container can plant in the trial's bind-mounted `agent/`
 * directory (a link to a secret outside, a link as a parent directory, a FIFO, a device node, a
 * setuid file, a flood of files) is never followed, read or blocked on, and the output copied back
 * holds regular files and directories only, with plain modes, within limits.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HostConfig } from '../../src/config.js'
import { RefusedPathError } from '../../src/hosts/execution-host.js'
import { KnownHosts } from '../../src/hosts/known-hosts.js'
import { SshHost } from '../../src/hosts/ssh-host.js'
import { recordAttacks } from '../helpers/reliability.js'
import { startSshServers, type SshServers } from '../helpers/ssh-hosts.js'

const SECRET = 'the-worker-secret-9f20aa'
const LIMITS = { maxBytes: 1024 * 1024, maxFiles: 1000, maxFileBytes: 1024 * 1024 }
const AGENT = 'runs/j/run-1/attempt-1/jobs/job/trial__x/agent'

let servers: SshServers
let host: SshHost
let local: string
let workDir: string
const agent = (name = '') => path.join(workDir, AGENT, name)

beforeAll(async () => {
  servers = await startSshServers([{ id: 'alpha' }])
  const h = servers.host('alpha')
  workDir = h.workDir
  local = await mkdtemp(path.join(os.tmpdir(), 'hr-ssh-safe-files-'))
  const outside = path.join(local, 'outside')
  mkdirSync(outside)
  writeFileSync(path.join(outside, 'secret.key'), SECRET)
  mkdirSync(agent(), { recursive: true })
  writeFileSync(agent('oracle.txt'), 'a line of the agent\n')
  symlinkSync(path.join(outside, 'secret.key'), agent('x.txt'))
  symlinkSync(outside, agent('up'))
  execFileSync('mkfifo', [agent('fifo.txt')])
  execFileSync('mknod', [agent('zero.txt'), 'c', '1', '5'])
  writeFileSync(agent('suid.sh'), '#!/bin/sh\n')
  chmodSync(agent('suid.sh'), 0o6755)
  const config: HostConfig = {
    id: 'alpha',
    slots: 2,
    workDir,
    ssh: { user: h.user, hostname: h.host, port: h.port, keyFile: h.keyFile },
    docker: null,
    bins: {},
    pythonPath: null,
    path: null,
    runnerMaxAttempts: null,
  }
  host = new SshHost(config, new KnownHosts(h.knownHostsFile, true))
})
afterAll(async () => {
  await host?.close()
  await servers?.stop()
  if (local) await rm(local, { recursive: true, force: true })
})

/** Fails rather than waits when the host blocks (as an SFTP open of a FIFO does). */
function soon<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('blocked')), ms))])
}

async function refused(p: Promise<unknown>, kind: 'link' | 'special') {
  const err = await soon(p).then(
    (value) => ({ value }),
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(RefusedPathError)
  expect((err as RefusedPathError).kind).toBe(kind)
}

describe('reads below the work dir of an SSH host', () => {
  recordAttacks('link_escape')
  it('reads regular files, whole and from an offset, in one piece past the SSH window', async () => {
    expect((await host.readFrom(`${AGENT}/oracle.txt`, 0, 100))?.toString()).toBe('a line of the agent\n')
    expect((await host.readFrom(`${AGENT}/oracle.txt`, 7, 4))?.toString()).toBe('of t')
    expect(await host.fileSize(`${AGENT}/oracle.txt`)).toBe(20)
    expect(await host.readFrom(`${AGENT}/missing.txt`, 0, 100)).toBeNull()
    expect(await host.fileSize(`${AGENT}/missing.txt`)).toBeNull()
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'abcdefgh')
    writeFileSync(agent('big.log'), big)
    const [whole, tail] = await Promise.all([
      host.readFrom(`${AGENT}/big.log`, 0, big.length + 100),
      host.readFrom(`${AGENT}/big.log`, big.length - 10, 100),
    ])
    expect(whole?.equals(big)).toBe(true)
    expect(tail?.equals(big.subarray(big.length - 10))).toBe(true)
  })

  it('refuses a link to a file outside', async () => {
    await refused(host.readFrom(`${AGENT}/x.txt`, 0, 100), 'link')
    await refused(host.fileSize(`${AGENT}/x.txt`), 'link')
  })

  it('refuses a link as a directory on the way', async () => {
    await refused(host.readFrom(`${AGENT}/up/secret.key`, 0, 100), 'link')
    await refused(host.list(`${AGENT}/up`), 'link')
  })

  it('refuses a FIFO and a device, without blocking', async () => {
    await refused(host.readFrom(`${AGENT}/fifo.txt`, 0, 100), 'special')
    await refused(host.readFrom(`${AGENT}/zero.txt`, 0, 100), 'special')
    await refused(host.fileSize(`${AGENT}/zero.txt`), 'special')
    // The helper serves on after its refusals.
    expect((await host.readFrom(`${AGENT}/oracle.txt`, 0, 4))?.toString()).toBe('a li')
  })

  it('lists names, at most as many as asked; writes and removes as before', async () => {
    expect(await host.list(AGENT)).toEqual(['big.log', 'fifo.txt', 'oracle.txt', 'suid.sh', 'up', 'x.txt', 'zero.txt'])
    expect(await host.list(AGENT, 2)).toHaveLength(2)
    expect(await host.list('runs/none')).toEqual([])
    mkdirSync(path.join(workDir, 'w'))
    await host.writeFile('w/mark', '{"phase":"agent"}')
    expect(readFileSync(path.join(workDir, 'w/mark'), 'utf8')).toBe('{"phase":"agent"}')
    await host.removeIfEmpty('w')
    expect(readdirSync(workDir)).toContain('w')
    await rm(path.join(workDir, 'w/mark'))
    await host.removeIfEmpty('w')
    expect(readdirSync(workDir)).not.toContain('w')
  })
})

describe('copying an output directory from an SSH host', () => {
  recordAttacks('collected_too_much')
  it('copies regular files and directories only, without setuid bits, and says what it left out', async () => {
    const into = path.join(local, 'copy')
    const report = await soon(host.getDirectory('runs/j/run-1/attempt-1/jobs', into, LIMITS))
    const copied = path.join(into, 'job/trial__x/agent')
    expect(readdirSync(copied).sort()).toEqual(['oracle.txt', 'suid.sh'])
    expect(statSync(path.join(copied, 'suid.sh')).mode & 0o7777).toBe(0o755)
    expect(report.leftOut.map((l) => [l.path.split('/').pop(), l.why]).sort()).toEqual([
      ['big.log', 'too large'],
      ['fifo.txt', 'special'],
      ['up', 'link'],
      ['x.txt', 'link'],
      ['zero.txt', 'special'],
    ])
    for (const entry of readdirSync(into, { recursive: true, withFileTypes: true }))
      expect(entry.isFile() || entry.isDirectory()).toBe(true)
    expect(JSON.stringify(report)).not.toContain(SECRET)
  })

  it('stops at the entry limit while copying', async () => {
    const flood = path.join(workDir, 'runs/j/run-2/attempt-1/out')
    mkdirSync(path.join(flood, 'many'), { recursive: true })
    writeFileSync(path.join(flood, 'result.json'), '{}')
    for (let i = 0; i < 5000; i++) writeFileSync(path.join(flood, 'many', `f${i}.txt`), 'x')
    const into = path.join(local, 'flood')
    const report = await soon(host.getDirectory('runs/j/run-2/attempt-1/out', into, { ...LIMITS, maxFiles: 300 }))
    expect(report.stoppedAt).toBe(300)
    expect(statSync(path.join(into, 'result.json')).isFile()).toBe(true)
    expect(readdirSync(path.join(into, 'many')).length).toBeLessThan(300)
  })

  it('rejects with ENOENT for a missing directory', async () => {
    await expect(host.getDirectory('runs/none', path.join(local, 'none'), LIMITS)).rejects.toMatchObject({
      code: 'ENOENT',
    })
  })
})

describe('an SSH host that goes away', () => {
  it('fails the reads under way, and nothing else (a reset connection is no crash)', async () => {
    // Requests keep going out while the server is frozen and killed: unread data on its side makes
    // its kernel reset the connection, which the client reports as an error.
    let feeding = true
    const reads: Promise<unknown>[] = []
    const feeder = (async () => {
      while (feeding) {
        reads.push(host.readFrom(`${AGENT}/oracle.txt`, 0, 100).catch((err: unknown) => err))
        await new Promise((r) => setTimeout(r, 2))
      }
    })()
    await new Promise((r) => setTimeout(r, 100))
    await servers.pause('alpha')
    feeding = false
    await feeder
    await Promise.all(reads)
    await expect(host.readFrom(`${AGENT}/oracle.txt`, 0, 4)).rejects.toThrow()
    // Whatever the socket reports after the fact arrives now (an unhandled error fails the test file).
    await new Promise((r) => setTimeout(r, 500))
    await servers.resume('alpha')
    expect((await host.readFrom(`${AGENT}/oracle.txt`, 0, 4))?.toString()).toBe('a li')
  })
})
