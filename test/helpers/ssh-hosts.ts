/**
 * Real OpenSSH servers on loopback, standing in for remote execution hosts: one `/usr/sbin/sshd -D` per
 * host, with host keys, a client key, configs and a known_hosts file generated per call in a temp dir.
 * The system's /etc/ssh and everyone's ~/.ssh are left alone.
 *
 * Needs root (sshd with privilege separation; `useradd` for a non-root host user) and the Debian
 * packages openssh-server, openssh-client and rsync (`.ci/run` installs them, the bootstrap checks).
 *
 * Processes: each server's listener is our child. sshd forks a monitor per connection (which calls
 * setsid and overwrites its command line), which forks the user's session; `pause` and `stop` find
 * those by walking the parent pids in /proc down from the listener, SIGSTOP them all first (a stopped
 * process cannot fork) and only then SIGKILL them. `stop` and the process exit hook also kill whatever
 * still runs inside our dirs (command line or cwd), e.g. commands left detached on a host. The
 * listener is started under `setpriv --pdeathsig KILL` when available, so that it dies with the test
 * process even when that is killed by a signal; what else such a process leaves behind (its temp dir,
 * commands still running in it) is swept by the next call, which finds the dir's owner gone.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa } from 'execa'
import { freePort } from './ports.js'

/** The sshd binary: an absolute path, which sshd needs to re-execute itself per connection. */
export const SSHD_BIN = '/usr/sbin/sshd'
/** sshd's privilege separation directory (Debian's build). */
const PRIVSEP_DIR = '/run/sshd'
const SAFE_PATH = /^[\w./-]+$/
const SAFE_ID = /^[a-z0-9][a-z0-9_-]*$/i
const START_TIMEOUT_MS = 10_000
// Not `hr-ssh-`: that is the product's own SSH control socket dir (src/hosts/ssh-host.ts), which the
// sweep of stale test dirs below must never take for one of ours (it did, and rsync broke mid-run).
const DIR_PREFIX = 'hr-sshd-test-'

/** One server to start. */
export interface SshHostSpec {
  /** Names the host in `pause`/`resume` and its files; letters, digits, `_` and `-`. */
  id: string
  /** The account clients log in as: `root` by default; any other is created (`useradd -m`) if missing. */
  user?: string
  /** The host's work dir (created if missing, owned by `user`); by default a fresh dir in the temp dir. */
  workDir?: string
}

/** A running (or paused) test server, and everything a client needs to reach it. */
export interface SshTestHost {
  id: string
  host: '127.0.0.1'
  /** Fixed for the server's whole life, across pause/resume. */
  port: number
  user: string
  /** The client's private key (ed25519, no passphrase), authorised for every user of these servers. */
  keyFile: string
  /** Owned by `user`; empty at the start. */
  workDir: string
  /** An OpenSSH known_hosts file with the host key of every server of the call (`[127.0.0.1]:<port> …`). */
  knownHostsFile: string
  /** The server's host public key, `ssh-ed25519 AAAA…` (e.g. for ssh2's `hostVerifier`). */
  hostKey: string
}

/** What `startSshServers` returns. */
export interface SshServers {
  hosts: SshTestHost[]
  /** The temp dir with keys, configs and default work dirs; `stop()` removes it. */
  dir: string
  /** The host with this id (throws for an unknown one). */
  host(id: string): SshTestHost
  /** Kills that server's sshd processes (listener, connections): new ones are refused, open ones drop. */
  pause(id: string): Promise<void>
  /** Starts that server again, on the same port with the same keys; resolves once `ssh … true` works. */
  resume(id: string): Promise<void>
  /** Kills every process of the servers (and whatever runs in their dirs), removes the dirs; idempotent. */
  stop(): Promise<void>
}

interface Server {
  host: SshTestHost
  dir: string
  configFile: string
  pidFile: string
  hostKeyFile: string
  ownsWorkDir: boolean
  child: RunningSshd | null
  /** Serialises pause/resume of this server. */
  queue: Promise<unknown>
}

interface RunningSshd {
  child: ChildProcess
  /** Resolves when the listener has exited and been reaped. */
  exited: Promise<void>
  status: string | null
  stderr: string
}

/**
 * Starts one sshd per spec on 127.0.0.1 and resolves once a real `ssh` client logs in to each. Every
 * process it starts is killed when the test process exits, if `stop()` has not done it before.
 */
export async function startSshServers(specs: SshHostSpec[]): Promise<SshServers> {
  if (specs.length === 0) throw new Error('startSshServers: no servers asked for')
  const ids = new Set<string>()
  for (const spec of specs) {
    if (!SAFE_ID.test(spec.id)) throw new Error(`startSshServers: bad id ${JSON.stringify(spec.id)}`)
    if (ids.has(spec.id)) throw new Error(`startSshServers: id ${spec.id} given twice`)
    ids.add(spec.id)
  }
  if (process.getuid?.() !== 0) throw new Error('startSshServers: must run as root (sshd, useradd)')
  if (!existsSync(SSHD_BIN)) {
    throw new Error(`${SSHD_BIN} missing: apt-get install -y openssh-server openssh-client rsync`)
  }
  await mkdir(PRIVSEP_DIR, { recursive: true, mode: 0o755 })

  const base = tempBase()
  sweepStale(base)
  const dir = await mkdtemp(path.join(base, DIR_PREFIX))
  if (!SAFE_PATH.test(dir)) throw new Error(`startSshServers: temp dir path has unsafe characters: ${dir}`)
  await writeFile(path.join(dir, 'owner'), ownerMark(process.pid))
  // Others may only traverse it: a non-root user reads the authorized keys and owns its work dir inside.
  await chmod(dir, 0o711)
  const servers: Server[] = []
  let stopped = false

  const ownedDirs = () => [dir, ...servers.filter((s) => s.ownsWorkDir).map((s) => s.host.workDir)]
  const killEverything = (): number[] => {
    const listeners = servers.flatMap((s) => (s.child?.child.pid === undefined ? [] : [s.child.child.pid]))
    const dirs = [dir, ...servers.map((s) => s.host.workDir)]
    return freezeAndKill((procs) => tree(procs, [...listeners, ...processesUsing(procs, dirs)], () => true))
  }
  const onExit = () => {
    killEverything()
    for (const d of ownedDirs()) rmSync(d, { recursive: true, force: true })
  }
  process.once('exit', onExit)

  const stop = async () => {
    if (stopped) return
    stopped = true
    await Promise.allSettled(servers.map((s) => s.queue))
    const killed = killEverything()
    await Promise.all(servers.map((s) => s.child?.exited))
    for (const s of servers) s.child = null
    await waitGone(killed)
    process.removeListener('exit', onExit)
    for (const d of ownedDirs()) await rm(d, { recursive: true, force: true })
  }

  try {
    const pubDir = path.join(dir, 'pub')
    const clientDir = path.join(dir, 'client')
    await mkdir(pubDir, { mode: 0o755 })
    await mkdir(clientDir, { mode: 0o700 })
    await chmod(pubDir, 0o755)
    const keyFile = path.join(clientDir, 'id_ed25519')
    const authorizedKeys = path.join(pubDir, 'authorized_keys')
    const knownHostsFile = path.join(pubDir, 'known_hosts')
    for (const spec of specs) {
      const workDir = spec.workDir ? path.resolve(spec.workDir) : path.join(dir, 'work', spec.id)
      if (!SAFE_PATH.test(workDir)) throw new Error(`startSshServers: unsafe characters in work dir ${workDir}`)
      const serverDir = path.join(dir, `server-${spec.id}`)
      const user = spec.user ?? 'root'
      servers.push({
        host: { id: spec.id, host: '127.0.0.1', port: 0, user, keyFile, workDir, knownHostsFile, hostKey: '' },
        dir: serverDir,
        configFile: path.join(serverDir, 'sshd_config'),
        pidFile: path.join(serverDir, 'sshd.pid'),
        hostKeyFile: path.join(serverDir, 'ssh_host_ed25519_key'),
        ownsWorkDir: !existsSync(workDir),
        child: null,
        queue: Promise.resolve(),
      })
    }

    const users = new Map<string, Account>()
    const userNames = [...new Set(servers.map((s) => s.host.user))]
    const [version] = await settleAll([
      openSshVersion(),
      keygen(keyFile, 'harbor-runner-test-client'),
      ...userNames.map(async (name) => users.set(name, await ensureUser(name))),
    ])
    // Modes set explicitly (not through the umask): a non-root user must read the keys and reach its dir.
    await writeFile(authorizedKeys, await readFile(`${keyFile}.pub`))
    await chmod(authorizedKeys, 0o644)
    await mkdir(path.join(dir, 'work'), { mode: 0o711 })
    await chmod(path.join(dir, 'work'), 0o711)

    await settleAll(
      servers.map(async (server) => {
        const { host } = server
        const account = users.get(host.user)!
        await mkdir(server.dir, { mode: 0o700 })
        await keygen(server.hostKeyFile, `harbor-runner-test-${host.id}`)
        host.hostKey = (await readFile(`${server.hostKeyFile}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ')
        await mkdir(host.workDir, { recursive: true })
        await chown(host.workDir, account.uid, account.gid)
        await chmod(host.workDir, 0o755)
        // A free port may be taken by someone else before sshd binds it: then take another.
        for (let attempt = 1; ; attempt++) {
          host.port = await freePort()
          await writeFile(server.configFile, sshdConfig(server, authorizedKeys, version))
          try {
            await startSshd(server)
            break
          } catch (err) {
            if (attempt >= 5 || !/bind/i.test(String(err))) throw err
          }
        }
      }),
    )
    const knownHosts = servers.map((s) => `[127.0.0.1]:${s.host.port} ${s.host.hostKey}\n`).join('')
    await writeFile(knownHostsFile, knownHosts, { mode: 0o644 })
    await settleAll(servers.map((s) => probe(s)))
  } catch (err) {
    await stop()
    throw err
  }

  const find = (id: string): Server => {
    const server = servers.find((s) => s.host.id === id)
    if (!server) throw new Error(`no ssh test host ${JSON.stringify(id)}`)
    return server
  }
  const enqueue = (server: Server, op: () => Promise<void>): Promise<void> => {
    const next = server.queue.then(() => {
      if (stopped) throw new Error(`ssh test servers stopped: cannot pause or resume ${server.host.id}`)
      return op()
    })
    server.queue = next.catch(() => undefined)
    return next
  }

  return {
    hosts: servers.map((s) => s.host),
    dir,
    host: (id) => find(id).host,
    pause: (id) => {
      const server = find(id)
      return enqueue(server, async () => {
        const running = server.child
        if (!running) return
        const pid = running.child.pid!
        const killed = freezeAndKill((procs) => tree(procs, [pid], (p) => p.comm.startsWith('sshd')))
        await running.exited
        server.child = null
        await waitGone(killed)
      })
    },
    resume: (id) => {
      const server = find(id)
      return enqueue(server, async () => {
        if (server.child?.status === null) return
        // The port is ours only by convention now: retry briefly if something holds it for a moment.
        for (let attempt = 1; ; attempt++) {
          try {
            await startSshd(server)
            break
          } catch (err) {
            if (attempt >= 10 || !/bind/i.test(String(err))) throw err
            await sleep(100)
          }
        }
        await probe(server)
      })
    },
    stop,
  }
}

/**
 * Options that reach `host` with its key, check its host key strictly and ignore every ssh_config;
 * valid for ssh, scp and sftp alike (the port is `-o Port=`, as their `-p`/`-P` differ).
 */
export function sshArgs(host: SshTestHost): string[] {
  return [
    '-F',
    '/dev/null',
    '-o',
    `Port=${host.port}`,
    '-i',
    host.keyFile,
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    `UserKnownHostsFile=${host.knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'LogLevel=ERROR',
  ]
}

/** `user@127.0.0.1`, the destination argument for ssh, and the host part of rsync and scp paths. */
export function sshTarget(host: SshTestHost): string {
  return `${host.user}@${host.host}`
}

/** The remote shell command for `rsync -e` (our paths hold no spaces or quotes, so no quoting is needed). */
export function sshCommand(host: SshTestHost): string {
  return ['ssh', ...sshArgs(host)].join(' ')
}

// ---------------------------------------------------------------------------------------------------
// Starting sshd

function sshdConfig(server: Server, authorizedKeys: string, version: number): string {
  const lines = [
    `# Test sshd "${server.host.id}" for user ${server.host.user}, written by test/helpers/ssh-hosts.ts`,
    'ListenAddress 127.0.0.1',
    `Port ${server.host.port}`,
    `HostKey ${server.hostKeyFile}`,
    `PidFile ${server.pidFile}`,
    // Our own file for every user: nothing in anyone's ~/.ssh is read.
    `AuthorizedKeysFile ${authorizedKeys}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    // The key files live under /tmp (world-writable), which strict modes would reject.
    'StrictModes no',
    'MaxSessions 10',
    'MaxStartups 100',
    'Subsystem sftp internal-sftp',
    // No AcceptEnv: clients cannot pass environment variables.
    'PermitUserEnvironment no',
    'X11Forwarding no',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'LogLevel ERROR',
  ]
  // OpenSSH 9.8+ penalises sources whose connections fail; our clients are all 127.0.0.1.
  if (version >= 9.8) lines.push('PerSourcePenalties no')
  return lines.join('\n') + '\n'
}

/** Starts the server's sshd and resolves once it listens (it writes its pid file after binding). */
async function startSshd(server: Server): Promise<void> {
  await rm(server.pidFile, { force: true })
  const args = ['-D', '-e', '-f', server.configFile]
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((f) => existsSync(f))
  const child = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'KILL', SSHD_BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(SSHD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const running: RunningSshd = { child, exited: Promise.resolve(), status: null, stderr: '' }
  running.exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      running.status = signal ?? `status ${code}`
      resolve()
    })
    child.once('error', (err) => {
      running.status = err.message
      resolve()
    })
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    running.stderr = (running.stderr + d).slice(-4000)
  })
  server.child = running
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (running.status !== null) {
      server.child = null
      throw new Error(`sshd for ${server.host.id} exited (${running.status}): ${running.stderr.trim()}`)
    }
    const pid = await readFile(server.pidFile, 'utf8').catch(() => '')
    if (pid.trim() === String(child.pid)) return
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      await running.exited
      server.child = null
      throw new Error(`sshd for ${server.host.id} not listening after ${START_TIMEOUT_MS} ms: ` + running.stderr)
    }
    await sleep(15)
  }
}

/** Logs in with the real ssh client and runs `true`. */
async function probe(server: Server): Promise<void> {
  const { host } = server
  let last = ''
  for (let attempt = 1; attempt <= 3; attempt++) {
    const r = await execa('ssh', [...sshArgs(host), sshTarget(host), 'true'], {
      reject: false,
      stdin: 'ignore',
      timeout: 20_000,
    })
    if (r.exitCode === 0) return
    last = `${r.exitCode ?? r.signal}: ${r.stderr}`
    await sleep(100 * attempt)
  }
  const said = server.child?.stderr ?? ''
  throw new Error(`ssh ${sshTarget(host)} -p ${host.port} true failed (${last}); sshd said: ${said}`)
}

type Settled<T extends readonly unknown[]> = { -readonly [K in keyof T]: Awaited<T[K]> }

/** Promise.all that lets every promise settle before rejecting (so that stop() runs after the last start). */
async function settleAll<T extends readonly unknown[]>(promises: T): Promise<Settled<T>> {
  const results = await Promise.allSettled(promises)
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) throw failed.reason
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as Settled<T>
}

async function keygen(file: string, comment: string): Promise<void> {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdin: 'ignore' })
}

/** OpenSSH's version as major.minor (e.g. 9.2), from `ssh -V`. */
async function openSshVersion(): Promise<number> {
  const r = await execa('ssh', ['-V'], { reject: false, stdin: 'ignore' })
  const m = /OpenSSH_(\d+)\.(\d+)/.exec(`${r.stdout}${r.stderr}`)
  return m ? Number(`${m[1]}.${m[2]}`) : 0
}

/** os.tmpdir() if others may traverse every dir above it (a non-root user must reach its files), else /tmp. */
function tempBase(): string {
  const base = os.tmpdir()
  for (let d = base; ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return '/tmp'
    if (d === path.dirname(d)) return base
  }
}

// ---------------------------------------------------------------------------------------------------
// Users

interface Account {
  uid: number
  gid: number
}

async function passwdEntry(name: string): Promise<Account | null> {
  const r = await execa('getent', ['passwd', name], { reject: false, stdin: 'ignore' })
  const fields = r.stdout.trim().split(':')
  if (r.exitCode !== 0 || fields.length < 7) return null
  return { uid: Number(fields[2]), gid: Number(fields[3]) }
}

/**
 * The account, created with a home and bash if missing. Without PAM, sshd refuses "locked" accounts
 * (password field starting with `!`, useradd's default): ours gets `*` (no password, not locked).
 */
async function ensureUser(name: string): Promise<Account> {
  if (!/^[a-z_][a-z0-9_-]*$/.test(name)) throw new Error(`startSshServers: bad user ${JSON.stringify(name)}`)
  let account = await passwdEntry(name)
  let failure = ''
  // Another test file may be creating the same user at this moment (useradd locks /etc/passwd).
  for (let attempt = 1; !account && attempt <= 10; attempt++) {
    const r = await execa('useradd', ['-m', '-s', '/bin/bash', '-p', '*', name], {
      reject: false,
      stdin: 'ignore',
    })
    failure = r.stderr
    account = await passwdEntry(name)
    if (!account) await sleep(50 * attempt)
  }
  if (!account) throw new Error(`could not create user ${name}: ${failure}`)
  const shadow = await execa('getent', ['shadow', name], { reject: false, stdin: 'ignore' })
  const password = shadow.stdout.split(':')[1] ?? ''
  if (/^!/.test(password)) {
    // Only a locked account without a password hash is ours to change; root is never changed.
    if (name === 'root' || !/^!+\*?$/.test(password)) {
      throw new Error(`account ${name} is locked ('!' in /etc/shadow): sshd without PAM refuses it`)
    }
    await execa('usermod', ['-p', '*', name], { stdin: 'ignore' })
  }
  return account
}

// ---------------------------------------------------------------------------------------------------
// Processes, through /proc (synchronous: also used from the process exit hook)

interface Proc {
  pid: number
  ppid: number
  comm: string
  state: string
  /** Clock ticks after boot: with the pid, identifies a process across pid reuse. */
  start: string
}

function readProcs(): Map<number, Proc> {
  const procs = new Map<number, Proc>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const p = readStat(Number(name))
    if (p) procs.set(p.pid, p)
  }
  return procs
}

function readStat(pid: number): Proc | null {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses.
  const open = stat.indexOf('(')
  const close = stat.lastIndexOf(')')
  const fields = stat.slice(close + 2).split(' ')
  const [state = '?', ppid = '0'] = fields
  return { pid, ppid: Number(ppid), comm: stat.slice(open + 1, close), state, start: fields[19] ?? '' }
}

/** `<pid> <start time>` of a process, as written to a temp dir's `owner` file. */
function ownerMark(pid: number): string {
  return `${pid} ${readStat(pid)?.start ?? ''}\n`
}

/**
 * Temp dirs of earlier calls whose process is gone without its exit hook (killed by a signal): kills
 * what still runs in them (listeners, connections, commands left on a host) and removes them.
 */
function sweepStale(base: string): void {
  let names: string[]
  try {
    names = readdirSync(base).filter((n) => n.startsWith(DIR_PREFIX))
  } catch {
    return
  }
  for (const name of names) {
    const dir = path.join(base, name)
    let owner: string
    try {
      owner = readFileSync(path.join(dir, 'owner'), 'utf8')
    } catch {
      // No owner yet: another process is creating it right now, unless it is old.
      const age = Date.now() - (statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
      if (age < 60_000) continue
      owner = ''
    }
    const pid = Number(owner.split(' ')[0])
    if (Number.isInteger(pid) && pid > 0 && ownerMark(pid) === owner) continue
    const killed = freezeAndKill((procs) => tree(procs, processesUsing(procs, [dir]), () => true))
    if (killed.length > 0) process.stderr.write(`[ssh-hosts] killed ${killed.length} leftovers in ${dir}\n`)
    rmSync(dir, { recursive: true, force: true })
  }
}

function alive(pid: number): boolean {
  const p = readStat(pid)
  return p !== null && p.state !== 'Z' && p.state !== 'X'
}

/** `roots` and their descendants, walking only through processes that `take` accepts. */
function tree(procs: Map<number, Proc>, roots: number[], take: (p: Proc) => boolean): Set<number> {
  const children = new Map<number, Proc[]>()
  for (const p of procs.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p])
  const found = new Set<number>()
  const todo = roots.filter((pid) => procs.has(pid))
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    if (found.has(pid)) continue
    found.add(pid)
    for (const c of children.get(pid) ?? []) if (take(c)) todo.push(c.pid)
  }
  return found
}

/** Processes whose command line names one of `dirs`, or whose cwd is inside one. */
function processesUsing(procs: Map<number, Proc>, dirs: string[]): number[] {
  const hits: number[] = []
  for (const pid of procs.keys()) {
    let cmdline = ''
    let cwd = ''
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      cwd = readlinkSync(`/proc/${pid}/cwd`)
    } catch {
      // gone, or a kernel thread
    }
    const args = cmdline.split('\0')
    const inside = (d: string) => cwd === d || cwd.startsWith(`${d}/`)
    if (dirs.some((d) => args.includes(d) || cmdline.includes(`${d}/`) || inside(d))) hits.push(pid)
  }
  return hits
}

/**
 * SIGSTOPs the processes `find` names until it names no new one (stopped processes cannot fork, so
 * none escapes as a fresh child), then SIGKILLs them all. Never touches this process or its ancestors.
 */
function freezeAndKill(find: (procs: Map<number, Proc>) => Set<number>): number[] {
  const procs = readProcs()
  const spared = new Set<number>()
  for (let pid: number | undefined = process.pid; pid && !spared.has(pid); pid = procs.get(pid)?.ppid) {
    spared.add(pid)
  }
  const frozen = new Set<number>()
  for (let round = 0; round < 50; round++) {
    const found = find(round === 0 ? procs : readProcs())
    const fresh = [...found].filter((pid) => !frozen.has(pid) && !spared.has(pid))
    if (fresh.length === 0) break
    for (const pid of fresh) {
      signal(pid, 'SIGSTOP')
      frozen.add(pid)
    }
  }
  for (const pid of frozen) signal(pid, 'SIGKILL')
  return [...frozen]
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

/** Waits until none of `pids` runs any more (zombies count as gone: init reaps them). */
async function waitGone(pids: number[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = pids.filter(alive)
    if (left.length === 0) return
    if (Date.now() > deadline) throw new Error(`processes still alive after SIGKILL: ${left.join(', ')}`)
    await sleep(10)
  }
}
