/**
 * The SSH hosts fixture (test/helpers/ssh-hosts.ts): real sshd servers on loopback, one logging in as
 * root and one as a non-root user, reached with the real ssh, rsync and sftp clients and with
 * node-ssh's SFTP (what our code uses). `pause` drops open connections and refuses new ones, `resume`
 * serves again on the same port with the same host key, and `stop` leaves no process or file behind.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import { NodeSSH } from 'node-ssh'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  sshArgs,
  sshCommand,
  sshTarget,
  startSshServers,
  type SshServers,
  type SshTestHost,
} from '../helpers/ssh-hosts.js'

let servers: SshServers
let root: SshTestHost
let other: SshTestHost
let local: string

beforeAll(async () => {
  local = await mkdtemp(path.join(os.tmpdir(), 'hr-test-ssh-local-'))
  servers = await startSshServers([{ id: 'alpha' }, { id: 'beta', user: 'hrtest' }])
  root = servers.host('alpha')
  other = servers.host('beta')
})
afterAll(async () => {
  await servers?.stop()
  if (local) await rm(local, { recursive: true, force: true })
})

/** Runs `check` for both hosts at once. */
async function eachHost(check: (host: SshTestHost) => Promise<void>): Promise<void> {
  await Promise.all([root, other].map(check))
}

function ssh(host: SshTestHost, command: string) {
  return execa('ssh', [...sshArgs(host), sshTarget(host), command], { reject: false, stdin: 'ignore' })
}

function rsync(host: SshTestHost, from: string, to: string) {
  return execa('rsync', ['-a', '-e', sshCommand(host), from, to], { reject: false, stdin: 'ignore' })
}

/** An SFTP-capable connection that accepts only the host's own key. */
async function connect(host: SshTestHost): Promise<NodeSSH> {
  const expected = Buffer.from(host.hostKey.split(' ')[1]!, 'base64')
  const conn = await new NodeSSH().connect({
    host: host.host,
    port: host.port,
    username: host.user,
    privateKeyPath: host.keyFile,
    hostVerifier: (key: Buffer) => key.equals(expected),
  })
  // Tests cut connections by killing their server: a reset then is expected, not an unhandled error.
  conn.connection!.on('error', () => undefined)
  return conn
}

it('serves each host as its user, on its own port, with a strictly checked host key', async () => {
  expect(servers.hosts.map((h) => [h.id, h.user])).toEqual([
    ['alpha', 'root'],
    ['beta', 'hrtest'],
  ])
  expect(root.port).not.toBe(other.port)
  const knownHosts = await readFile(root.knownHostsFile, 'utf8')
  await eachHost(async (host) => {
    expect(knownHosts).toContain(`[127.0.0.1]:${host.port} ${host.hostKey}\n`)
    const r = await ssh(host, `id -un && cd ${host.workDir} && stat -c %U . && ls -A | wc -l && test -w .`)
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout.split('\n')).toEqual([host.user, host.user, '0'])
  })
  // A client that does not know the host key refuses the server.
  const empty = path.join(local, 'empty_known_hosts')
  await writeFile(empty, '')
  const unknown = `UserKnownHostsFile=${empty}`
  const args = sshArgs(other).map((a) => (a.startsWith('UserKnownHostsFile=') ? unknown : a))
  const refused = await execa('ssh', [...args, sshTarget(other), 'true'], { reject: false, stdin: 'ignore' })
  expect(refused.exitCode).toBe(255)
  expect(refused.stderr).toMatch(/Host key verification failed/)
})

it('copies trees both ways with rsync over ssh', async () => {
  await eachHost(async (host) => {
    const src = path.join(local, `${host.id}-src`)
    await mkdir(path.join(src, 'nested'), { recursive: true })
    await writeFile(path.join(src, 'a.txt'), `to ${host.id}\n`)
    await writeFile(path.join(src, 'nested', 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 })
    const up = await rsync(host, `${src}/`, `${sshTarget(host)}:${host.workDir}/in/`)
    expect(up.exitCode, up.stderr).toBe(0)
    const remote = await ssh(
      host,
      `cd ${host.workDir} && cat in/a.txt && stat -c '%a %U' in/nested/run.sh && in/nested/run.sh && ` +
        'mkdir -p out/deep && echo "from $(id -un)" > out/deep/b.txt',
    )
    expect(remote.stdout, remote.stderr).toBe(`to ${host.id}\n755 ${host.user}\nran`)
    const dst = path.join(local, `${host.id}-dst`)
    const down = await rsync(host, `${sshTarget(host)}:${host.workDir}/out/`, `${dst}/`)
    expect(down.exitCode, down.stderr).toBe(0)
    expect(await readFile(path.join(dst, 'deep', 'b.txt'), 'utf8')).toBe(`from ${host.user}\n`)
  })
})

it('reads files over SFTP: node-ssh and the sftp client', async () => {
  await eachHost(async (host) => {
    const file = `${host.workDir}/sftp.txt`
    expect((await ssh(host, `echo "sftp for $(id -un)" > ${file}`)).exitCode).toBe(0)

    const conn = await connect(host)
    try {
      const sftp = await conn.requestSFTP()
      const data = await new Promise<Buffer>((resolve, reject) =>
        sftp.readFile(file, (err: Error | undefined, buf: Buffer) => (err ? reject(err) : resolve(buf))),
      )
      expect(data.toString()).toBe(`sftp for ${host.user}\n`)
      sftp.end()
    } finally {
      conn.dispose()
    }

    const copy = path.join(local, `${host.id}-sftp.txt`)
    const batch = `get ${file} ${copy}\n`
    const sftpArgs = ['-q', '-b', '-', ...sshArgs(host), sshTarget(host)]
    const r = await execa('sftp', sftpArgs, { input: batch, reject: false })
    expect(r.exitCode, r.stderr).toBe(0)
    expect(await readFile(copy, 'utf8')).toBe(`sftp for ${host.user}\n`)
  })
})

it('pause drops open connections and refuses new ones; resume serves on the same port', async () => {
  const port = other.port
  const conn = await connect(other)
  const closed = new Promise<void>((resolve) => conn.connection!.once('close', () => resolve()))
  // A real client in the middle of a command, in the work dir (so that stop() finds it later).
  const client = execa(
    'ssh',
    [...sshArgs(other), sshTarget(other), `cd ${other.workDir} && echo started && exec sleep 60`],
    { reject: false, stdin: 'ignore' },
  )
  await new Promise<void>((resolve) => client.stdout!.once('data', () => resolve()))

  await servers.pause('beta')
  await closed
  const dropped = await client
  expect(dropped.exitCode).toBe(255)
  const refused = await ssh(other, 'true')
  expect(refused.exitCode).toBe(255)
  expect(refused.stderr).toMatch(/Connection refused/)
  expect((await ssh(root, 'true')).exitCode).toBe(0)
  await servers.pause('beta')

  await servers.resume('beta')
  expect(other.port).toBe(port)
  const back = await ssh(other, 'id -un')
  expect(back.exitCode, back.stderr).toBe(0)
  expect(back.stdout).toBe('hrtest')
  const again = await connect(other)
  expect((await again.execCommand('echo ok')).stdout).toBe('ok')
  again.dispose()
  await servers.resume('beta')
})

it('stop kills every process of the servers and removes their dirs', async () => {
  const conn = await connect(root)
  const before = ours(servers.dir)
  // Two listeners, the open connection's monitor (root's session runs in it: no unprivileged child),
  // and the command left running on beta by the client that pause cut off.
  expect(before.filter((p) => p.comm === 'sshd').length).toBeGreaterThanOrEqual(3)
  expect(before.some((p) => p.comm === 'sleep')).toBe(true)

  await servers.stop()
  expect(ours(servers.dir)).toEqual([])
  expect(before.filter((p) => alive(p.pid))).toEqual([])
  expect(existsSync(servers.dir)).toBe(false)
  for (const host of servers.hosts) expect(existsSync(host.workDir)).toBe(false)
  conn.dispose()
  await servers.stop()
  await expect(servers.resume('alpha')).rejects.toThrow(/stopped/)
  // The local scratch dir was not touched by stop().
  expect((await stat(local)).isDirectory()).toBe(true)
})

interface Proc {
  pid: number
  ppid: number
  comm: string
}

/** Live processes that mention `dir` (command line or cwd), and all their descendants. */
function ours(dir: string): Proc[] {
  const procs: Proc[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || !alive(Number(name))) continue
    const s = readFileSync(`/proc/${name}/stat`, 'utf8')
    const [, ppid = '0'] = s.slice(s.lastIndexOf(')') + 2).split(' ')
    const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'))
    procs.push({ pid: Number(name), ppid: Number(ppid), comm })
  }
  const mentions = (pid: number) => {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`)
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${dir}/`) || cwd.startsWith(`${dir}/`)
    } catch {
      return false
    }
  }
  const found = new Set(procs.filter((p) => mentions(p.pid)).map((p) => p.pid))
  for (let grew = true; grew;) {
    grew = false
    for (const p of procs) {
      if (found.has(p.pid) || !found.has(p.ppid)) continue
      found.add(p.pid)
      grew = true
    }
  }
  return procs.filter((p) => found.has(p.pid))
}

/** Running, not a zombie. */
function alive(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^[ZX]/.test(s.slice(s.lastIndexOf(')') + 2))
  } catch {
    return false
  }
}
