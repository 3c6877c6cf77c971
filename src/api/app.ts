/**
 * The HTTP API (Hono). `createApp` takes every dependency explicitly, so tests and the server
 * build it the same way.
 */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { Config } from '../config.js'
import type { Db } from '../db/database.js'
import type { HarnessCatalog } from '../harness/catalog.js'
import type { TaskChecker } from '../tasks/harness-checks.js'
import type { JobWorkflowInput } from '../workflows/job-workflow.js'
import { requireToken, type AppEnv } from './auth.js'
import { ApiError, notFound, onError } from './errors.js'
import type { LogNotifier } from './log-notifier.js'
import { artifactRoutes } from './routes/artifacts.js'
import { catalogRoutes } from './routes/catalog.js'
import { healthRoutes } from './routes/health.js'
import { hostRoutes } from './routes/hosts.js'
import { jobEventRoutes } from './routes/job-events.js'
import { jobRoutes } from './routes/jobs.js'
import { logRoutes } from './routes/logs.js'
import { uploadRoutes } from './routes/upload.js'
import { webRoutes } from './routes/web.js'

/** How the API hands jobs to the orchestrator. */
export interface JobStarter {
  start(input: JobWorkflowInput): Promise<void>
  /** Asks the job's workflow to cancel; a workflow already gone is not an error. */
  cancel(jobId: string): Promise<void>
  /** Whether the orchestrator answers. */
  ping(): Promise<boolean>
}

export interface AppDeps {
  config: Config
  db: Db
  masterKey: Buffer
  jobs: JobStarter
  notifier: LogNotifier
  /** Checks tasks by their harness's own rules; null skips those checks (no harness installed here). */
  taskChecker: TaskChecker | null
  /** What the installed harnesses offer (agents, environments), for forms. */
  harnessCatalog: () => Promise<HarnessCatalog>
  /** The harbor CLI, to convert Terminal-Bench tasks for the harbor harness; null when not installed. */
  harborBin: string | null
  /** Whether the API may run open while no token exists: only when it listens on loopback. */
  openModeAllowed: boolean
  logError: (err: unknown) => void
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  // Every route but the upload (which streams its body to disk under its own limit) takes a small body.
  const smallBody = bodyLimit({
    maxSize: deps.config.limits.requestBodyBytes,
    onError: () => {
      throw new ApiError(
        413,
        'request_too_large',
        `request bodies are limited to ${deps.config.limits.requestBodyBytes} bytes (MAX_REQUEST_BODY_BYTES)`,
      )
    },
  })
  app.use('/api/*', (c, next) => (c.req.path === '/api/upload' ? next() : smallBody(c, next)))
  app.use('/api/*', requireToken({ db: deps.db, openModeAllowed: deps.openModeAllowed }))
  app.route('/api', healthRoutes(deps))
  app.route('/api', uploadRoutes(deps))
  app.route('/api', catalogRoutes(deps))
  app.route('/api/jobs', jobRoutes(deps))
  app.route('/api/jobs', jobEventRoutes(deps))
  app.route('/api/jobs', logRoutes(deps))
  app.route('/api/jobs', artifactRoutes(deps))
  app.route('/api/hosts', hostRoutes(deps))
  app.route('/', webRoutes())
  app.onError(onError(deps.logError))
  app.notFound(notFound)
  return app
}
