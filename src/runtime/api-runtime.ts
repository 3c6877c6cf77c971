/** Builds the API side of the service: database pool, Temporal client, log notifier, HTTP server. */
import { serve, type ServerType } from '@hono/node-server'
import type { Hono } from 'hono'
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { Registry } from 'prom-client'
import { createApp } from '../api/app.js'
import type { AppEnv } from '../api/auth.js'
import { harnessCatalogLoader } from '../harness/catalog.js'
import { DEFAULT_HARNESS } from '../harness/registry.js'
import { isLoopback } from '../api/auth.js'
import { ConfigError } from '../config.js'
import { anyActiveToken } from '../db/tokens.js'
import { runWatchAnnouncer } from '../db/run-watch.js'
import { createLogNotifier } from '../api/log-notifier.js'
import { cachedTokenCheck } from '../api/token-cache.js'
import type { Config } from '../config.js'
import { createDb } from '../db/database.js'
import type { Logger } from '../logger.js'
import { createApiMetrics, exposition, processMetrics } from '../observability/metrics.js'
import { countRunsByStatus } from '../observability/run-counts.js'
import { TaskChecker, toolEnvironment } from '../tasks/harness-checks.js'
import {
  cancelJobWorkflow,
  connectTemporalClient,
  retryJobRuns,
  setJobWorkflowPaused,
  startJobWorkflow,
} from '../temporal/client.js'
import { localHarnessBins } from './hosts.js'
import { sweepStoredTasksPeriodically } from './task-sweep.js'

/** How often the task store is swept of tasks no job references (and once at start). */
const TASK_SWEEP_EVERY_MS = 60 * 60 * 1000

export interface ApiRuntime {
  /** The address the server listens on, e.g. http://127.0.0.1:8000. */
  url: string
  /** The app it serves, for requests made in-process (`app.request()`). */
  app: Hono<AppEnv>
  close(): Promise<void>
}

export async function startApiRuntime(options: {
  config: Config
  databaseUrl: string
  temporalAddress: string
  masterKey: Buffer
  logger: Logger
  /** Overrides the configured port (0 picks a free one). */
  port?: number
  /** More metrics for `GET /metrics` to serve: the worker's, when it runs in this process. */
  moreMetrics?: readonly Registry[]
}): Promise<ApiRuntime> {
  const { config, logger } = options
  const dbh = createDb(options.databaseUrl)
  const openModeAllowed = isLoopback(config.api.host)
  if (!openModeAllowed && !(await anyActiveToken(dbh.db))) {
    await dbh.close()
    throw new ConfigError(
      `API_HOST is ${config.api.host}, which is not a loopback address, and no API token exists: ` +
        'the API would be open to anyone. Create a token first (`npm run token -- create --name admin --admin`), ' +
        'or listen on 127.0.0.1',
    )
  }
  const temporal = await connectTemporalClient(config, options.temporalAddress)
  const notifier = createLogNotifier(options.databaseUrl, (err) =>
    logger.warn('log notifier connection problem', { err }),
  )
  const tokens = cachedTokenCheck(dbh.db, options.databaseUrl, (err) =>
    logger.warn('token-changes listener connection problem', { err }),
  )
  const runWatch = runWatchAnnouncer(dbh.db, (err) => logger.warn('announcing watched runs failed', { err }))
  const harnessBins = localHarnessBins(config)
  // The Python of the harnesses' virtualenv (they are installed together): the one beside the default's CLI.
  const defaultBin = harnessBins[DEFAULT_HARNESS]
  const harnessPython =
    defaultBin && existsSync(path.join(path.dirname(defaultBin), 'python'))
      ? path.join(path.dirname(defaultBin), 'python')
      : null
  if (!harnessPython)
    logger.warn('no Python with the harnesses found: uploads are checked without their own task models')
  const taskChecker = harnessPython
    ? new TaskChecker(harnessPython, toolEnvironment({ path: config.harness.path, home: config.harness.home }))
    : null
  taskChecker?.warm((err) =>
    logger.warn('the task checker did not start; it is tried again at the next upload', { err }),
  )
  // Read at the first request for it (a quarter of a second of Python), then kept.
  const harnessCatalog = harnessCatalogLoader(harnessPython)
  const obs = config.observability
  const apiMetrics = obs.metricsEnabled
    ? createApiMetrics({
        countRuns: () => countRunsByStatus(dbh.db),
        onCountError: (err) => logger.warn('counting runs for /metrics failed', { err }),
      })
    : null
  if (apiMetrics && !openModeAllowed && !obs.metricsToken)
    logger.warn(
      `GET /metrics is open to anyone who reaches ${config.api.host}: set METRICS_TOKEN, or keep the port off public networks`,
    )
  const app = createApp({
    harnessCatalog,
    config,
    openModeAllowed,
    taskChecker,
    harnessBins,
    db: dbh.db,
    masterKey: options.masterKey,
    notifier,
    tokens,
    runWatch,
    logError: (err, request) => logger.error('request failed', { err, ...request }),
    metrics: apiMetrics && {
      api: apiMetrics,
      scrape: exposition([processMetrics(), apiMetrics.registry, ...(options.moreMetrics ?? [])]),
    },
    jobs: {
      start: (input) => startJobWorkflow(temporal.client, config.temporal.taskQueue, input),
      cancel: (jobId) => cancelJobWorkflow(temporal.client, jobId),
      setPaused: (jobId, paused, requestId) => setJobWorkflowPaused(temporal.client, jobId, paused, requestId),
      retry: (input, runNumbers, requestId) =>
        retryJobRuns(temporal.client, config.temporal.taskQueue, input, { runNumbers }, requestId),
      ping: async () => {
        await temporal.client.workflowService.getSystemInfo({})
        return true
      },
    },
  })
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.api.host, port: options.port ?? config.api.port }, () =>
      resolve(s),
    )
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`API_PORT ${config.api.port} is already in use on ${config.api.host}`)
          : err,
      ),
    )
  })
  const address = server.address() as AddressInfo
  const stopTaskSweep = sweepStoredTasksPeriodically(
    dbh.db,
    path.join(config.dataDir, 'tasks'),
    logger.child({ component: 'task-sweep' }),
    TASK_SWEEP_EVERY_MS,
  )
  return {
    url: `http://${config.api.host}:${address.port}`,
    app,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Open SSE streams would hold close() forever.
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      })
      await stopTaskSweep()
      await notifier.close()
      await tokens.close()
      runWatch.close()
      await taskChecker?.close()
      await temporal.close()
      await dbh.close()
    },
  }
}
