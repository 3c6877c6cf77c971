/**
 * The API's one error funnel. Handlers throw {@link ApiError}; `onError` renders every error as
 * `{ "error": { "code", "message" } }` (plus `field` when one input field is at fault). Anything
 * else is a 500 whose details stay in the server log.
 */
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

export function errorBody(code: string, message: string, field?: string) {
  return { error: { code, message, ...(field ? { field } : {}) } }
}

export function onError(logError: (err: unknown) => void) {
  return function renderError(err: Error, c: Context) {
    if (err instanceof ApiError) return c.json(errorBody(err.code, err.message, err.field), err.status)
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode
      const code = status === 413 ? 'body_too_large' : `http_${status}`
      return c.json(errorBody(code, err.message || 'request rejected'), status)
    }
    if (isDatabaseUnavailable(err)) {
      // PostgreSQL restarting or out of reach: the request may be retried, and nothing was half-done
      // (every change is one transaction).
      c.header('Retry-After', '2')
      return c.json(errorBody('database_unavailable', 'the database is not answering; try again shortly'), 503)
    }
    logError(err)
    return c.json(errorBody('internal_error', 'internal server error'), 500)
  }
}

/** Connection refused or reset, or PostgreSQL shutting down (class 57) or unable to connect (08). */
function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown }
  if (typeof e?.code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(e.code)) return true
    if (/^(57P0[1-3]|08\d{3})$/.test(e.code)) return true
  }
  return typeof e?.message === 'string' && /Connection terminated|connection timeout/i.test(e.message)
}

export function notFound(c: Context) {
  return c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404)
}
