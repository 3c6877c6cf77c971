/**
 * A test file's own PostgreSQL and Temporal servers, for tests that stop and restart them: the shared
 * ones from global-setup.ts serve other test files at the same time and must stay up.
 *
 * Both keep their state on disk (a PostgreSQL cluster, a Temporal SQLite file) in a temp dir, so a
 * restart on the same port comes back with everything it had.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createDb, migrateToLatest } from '../../src/db/database.js'
import { findExecutable } from '../../src/paths.js'
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/services/embedded-postgres.js'
import { startTemporalDevServer, type TemporalDevServerHandle } from '../../src/services/temporal-dev-server.js'
import { freePort } from './ports.js'

export interface OwnServer {
  /** PostgreSQL: the URL of a migrated database; Temporal: host:port. */
  readonly address: string
  /** Stops the server (PostgreSQL: fast shutdown; Temporal: SIGTERM) and keeps its files. */
  stop(): Promise<void>
  /** Starts it again on the same port with the same files. */
  start(): Promise<void>
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>
}

export async function startOwnPostgres(): Promise<OwnServer> {
  // Under os.tmpdir(), which the `postgres` user (PostgreSQL's user when we are root) can enter.
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'hr-own-pg-'))
  const options = { dir: path.join(tmp, 'pg'), port: await freePort(), database: 'harbor_runner' }
  let handle: EmbeddedPostgresHandle | null = await startEmbeddedPostgres(options)
  const url = handle.url
  const dbh = createDb(url, { max: 1 })
  try {
    await migrateToLatest(dbh.db)
  } finally {
    await dbh.close()
  }
  return ownServer(url, tmp, {
    stop: async () => {
      await handle?.stop()
      handle = null
    },
    start: async () => {
      handle ??= await startEmbeddedPostgres(options)
    },
  })
}

export async function startOwnTemporal(): Promise<OwnServer> {
  const bin = findExecutable('temporal', process.env.TEMPORAL_BIN ?? null, process.env.PATH ?? '')
  if (!bin) throw new Error('temporal CLI missing: run `npm run setup`')
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'hr-own-temporal-'))
  const options = { bin, dir: tmp, port: await freePort(), uiPort: null }
  let handle: TemporalDevServerHandle | null = await startTemporalDevServer(options)
  return ownServer(handle.address, tmp, {
    stop: async () => {
      await handle?.stop()
      handle = null
    },
    start: async () => {
      handle ??= await startTemporalDevServer(options)
    },
  })
}

function ownServer(
  address: string,
  tmp: string,
  control: { stop(): Promise<void>; start(): Promise<void> },
): OwnServer {
  return {
    address,
    ...control,
    async destroy() {
      await control.stop()
      await rm(tmp, { recursive: true, force: true })
    },
  }
}
