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
    logError(err)
    return c.json(errorBody('internal_error', 'internal server error'), 500)
  }
}

export function notFound(c: Context) {
  return c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404)
}
