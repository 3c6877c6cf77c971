/**
 * The HTTP API (Hono). `createApp` takes every dependency explicitly, so tests and the server
 * build it the same way.
 */
import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { matchedRoutes } from 'hono/route'
import { timing } from 'hono/timing'
import { methodLabel, uploadResult } from '../observability/metrics.js'
import { metricsAuthorized } from '../observability/metrics-server.js'
import { requireToken, type AppEnv } from './auth.js'
import type { AppDeps, RequestLabel } from './deps.js'
import { ApiError, notFound, onError } from './errors.js'
import { requireAllowedHost, requireSameOrigin } from './request-guards.js'
import { ticketKey } from './tickets.js'
import { tokenSlots } from './token-slots.js'
import { artifactRoutes } from './routes/artifacts.js'
import { catalogRoutes } from './routes/catalog.js'
import { healthRoutes } from './routes/health.js'
import { hostRoutes } from './routes/hosts.js'
import { jobEventRoutes } from './routes/job-events.js'
import { jobRoutes } from './routes/jobs.js'
import { compareRoutes } from './routes/compare.js'
import { exportRoutes } from './routes/export.js'
import { jobControlRoutes } from './routes/job-control.js'
import { logRoutes } from './routes/logs.js'
import { ticketRoutes } from './routes/tickets.js'
import { uploadRoutes } from './routes/upload.js'
import { webRoutes } from './routes/web.js'

export type { AppDeps, JobStarter, RequestLabel } from './deps.js'

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  const metrics = deps.metrics ?? null
  if (metrics) {
    app.use('*', async (c, next) => {
      const started = performance.now()
      await next()
      const request = requestLabel(c, c.res.status)
      const labels = { ...request, status: String(c.res.status) }
      metrics.api.httpRequests.inc(labels)
      metrics.api.httpDuration.observe(labels, (performance.now() - started) / 1000)
      if (request.route === '/api/upload' && request.method === 'POST')
        metrics.api.uploads.inc({ result: uploadResult(c.res.status) })
    })
  }
  // Before anything else: a request under a name the API does not serve, or a browser's change sent
  // from another origin, is refused (src/api/request-guards.ts). No answer carries CORS headers.
  app.use('*', requireAllowedHost(deps.config.api.allowedHosts))
  app.use('*', requireSameOrigin(deps.config.api.allowedOrigins))
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
  // Server-Timing on every answer: the API's own time, and its parts where a route names them.
  app.use('/api/*', timing({ totalDescription: 'in the API' }))
  const tickets = ticketKey(deps.masterKey)
  app.use('/api/*', requireToken({ tokens: deps.tokens, openModeAllowed: deps.openModeAllowed, tickets }))
  // Long requests held per token at once, in this process (src/api/token-slots.ts).
  const limits = deps.config.limits
  const streams = tokenSlots({
    limit: limits.streamsPerToken,
    code: 'too_many_streams',
    what: 'event streams open',
    variable: 'MAX_STREAMS_PER_TOKEN',
    retryAfterSec: 10,
  })
  const uploads = tokenSlots({
    limit: limits.uploadsPerToken,
    code: 'too_many_uploads',
    what: 'uploads under way',
    variable: 'MAX_UPLOADS_PER_TOKEN',
    retryAfterSec: 5,
  })
  app.use('/api/upload', async (c, next) => {
    const release = uploads.take(c)
    try {
      await next()
    } finally {
      release()
    }
  })
  app.route('/api', healthRoutes(deps))
  app.route('/api', uploadRoutes(deps))
  app.route('/api', ticketRoutes(deps, tickets))
  app.route('/api', catalogRoutes(deps))
  app.route('/api', compareRoutes(deps))
  app.route('/api/jobs', jobRoutes(deps))
  app.route('/api/jobs', jobControlRoutes(deps))
  app.route('/api/jobs', jobEventRoutes(deps, streams))
  app.route('/api/jobs', logRoutes(deps, streams))
  app.route('/api/jobs', artifactRoutes(deps))
  app.route('/api/jobs', exportRoutes(deps))
  app.route('/api/hosts', hostRoutes(deps))
  if (metrics) {
    // Outside /api: scrapers carry no API token. It shows counts by route and status, no ids.
    app.get('/metrics', async (c) => {
      if (!metricsAuthorized(c.req.header('Authorization'), deps.config.observability.metricsToken)) {
        c.header('WWW-Authenticate', 'Bearer')
        throw new ApiError(401, 'token_required', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>')
      }
      const { contentType, body } = await metrics.scrape()
      return c.body(body, 200, { 'Content-Type': contentType })
    })
  }
  app.route('/', webRoutes())
  app.onError((err, c) => onError((e) => deps.logError(e, requestLabel(c)))(err, c))
  app.notFound(notFound)
  return app
}

/** The matched route's pattern; `unmatched` for a path no route answers (given the answer's status). */
function requestLabel(c: Context, status?: number): RequestLabel {
  const route = matchedRoutes(c)[c.req.routeIndex]
  // Only middleware (`use`, method ALL) matched, and the not-found handler answered.
  const unmatched = !route || (route.method === 'ALL' && status === 404)
  return { method: methodLabel(c.req.method), route: unmatched ? 'unmatched' : route.path }
}
