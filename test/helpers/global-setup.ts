/**
 * Starts the services the suite talks to, once: a real Temporal dev server (in memory, from the
 * project's .venv) and a real PostgreSQL server (the embedded one, unless TEST_DATABASE_URL names an
 * existing server whose user may create databases). Each test file then makes its own database.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { findExecutable } from '../../src/paths.js'
import { startEmbeddedPostgres } from '../../src/services/embedded-postgres.js'
import { startTemporalDevServer } from '../../src/services/temporal-dev-server.js'
import { freePort } from './ports.js'

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string
    postgresAdminUrl: string
  }
}

export default async function setup(project: TestProject) {
  const temporalBin = findExecutable('temporal', process.env.TEMPORAL_BIN ?? null, process.env.PATH ?? '')
  if (!temporalBin) throw new Error('temporal CLI missing: run `npm run setup`')
  const temporal = await startTemporalDevServer({
    bin: temporalBin,
    dir: null,
    port: await freePort(),
    uiPort: null,
    // Timers fire on time, not up to a second late: the workflow tests' backoffs last milliseconds
    // (test/helpers/fast-time.ts).
    dynamicConfig: { 'history.timerProcessorMaxTimeShift': '10ms' },
  })

  let postgresAdminUrl = process.env.TEST_DATABASE_URL
  let stopPostgres = async () => {}
  let tmp: string | null = null
  if (!postgresAdminUrl) {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'hr-test-pg-'))
    try {
      const pg = await startEmbeddedPostgres({
        dir: path.join(tmp, 'pg'),
        port: await freePort(),
        database: 'postgres',
      })
      postgresAdminUrl = pg.url
      stopPostgres = pg.stop
    } catch (err) {
      await temporal.stop()
      await rm(tmp, { recursive: true, force: true })
      throw err
    }
  }
  project.provide('temporalAddress', temporal.address)
  project.provide('postgresAdminUrl', postgresAdminUrl)

  return async () => {
    await temporal.stop()
    await stopPostgres()
    if (tmp) await rm(tmp, { recursive: true, force: true })
  }
}
