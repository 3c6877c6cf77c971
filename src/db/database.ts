import { Kysely, Migrator, PostgresDialect } from 'kysely'
import pg from 'pg'
import { migrations } from '../../migrations/index.js'
import type { Database } from './schema.js'

export type Db = Kysely<Database>

// int8 (counts, token totals, byte offsets) as a JavaScript number instead of a string.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10))

export interface DbHandle {
  readonly db: Db
  readonly pool: pg.Pool
  close(): Promise<void>
}

/** Opens a pool on `url`. The caller owns the handle and closes it on shutdown. */
export function createDb(url: string, options: { max?: number } = {}): DbHandle {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 })
  // An idle client that loses its server (e.g. PostgreSQL restarting) must not crash the process;
  // the pool drops it and the next query opens a new connection.
  pool.on('error', () => {})
  // A client that loses its server while checked out (mid-query or mid-transaction) emits 'error'
  // with no listener of the pool's attached, which would crash the process; its query fails on its
  // own, and the pool drops the client when it is released (it is no longer queryable).
  pool.on('connect', (client) => client.on('error', () => {}))
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return {
    db,
    pool,
    close: () => db.destroy(),
  }
}

/**
 * Brings the schema up to date. Safe to run from several processes at once: Kysely's migrator takes
 * a database lock. Throws with the failing migration's name.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error || failed) {
    const name = failed ? ` (${failed.migrationName})` : ''
    throw new Error(`database migration failed${name}: ${error instanceof Error ? error.message : String(error)}`)
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
