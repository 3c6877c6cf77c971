/** Path, query and header parameters, validated before they reach a query. */
import { z } from 'zod'
import { ApiError } from './errors.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** The largest PostgreSQL `integer`: run numbers and log sequence numbers are stored as one. */
const MAX_INT4 = 2_147_483_647
/** C0, DEL and C1 controls: PostgreSQL refuses NUL in text, and none belongs in a filter. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

export function jobIdParam(value: string | undefined): string {
  if (!value || !UUID.test(value)) throw new ApiError(400, 'invalid_job_id', 'job_id must be a UUID')
  return value.toLowerCase()
}

/** 1, 2, 3…: one spelling per run, so "01" and "1e0" are not run 1. */
export function runNumberParam(value: string | undefined): number {
  if (!value || !/^[1-9]\d{0,9}$/.test(value) || Number(value) > MAX_INT4) {
    throw new ApiError(400, 'invalid_run_number', 'run_number must be a whole number from 1, without leading zeros')
  }
  return Number(value)
}

/** A log sequence number to resume after (`Last-Event-ID`); absent or empty is the start. */
export function lastEventIdParam(value: string | undefined): number {
  if (value === undefined || value === '') return 0
  if (!/^\d{1,10}$/.test(value) || Number(value) > MAX_INT4) {
    throw new ApiError(
      400,
      'invalid_last_event_id',
      `Last-Event-ID must be a log sequence number from 0 to ${MAX_INT4}`,
      'last_event_id',
    )
  }
  return Number(value)
}

/** A whole number in decimal digits only: `z.coerce` would also take "1e2", "0x10" and " 5 ". */
export function intQuery(min: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,10}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
}

/** A free-text filter: at most `max` characters, no control characters. */
export function textQuery(max: number) {
  return z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !CONTROL.test(v), 'must not contain control characters')
}

/** A route that takes no query parameters. */
export const NO_QUERY = z.object({}).strict()

/** Query parameters of every route that the middleware reads: `?ticket=` (src/api/auth.ts). */
const MIDDLEWARE_PARAMS = new Set(['ticket'])

/**
 * Parses a query string (as Hono's `c.req.queries()`: every value of every name) against `schema`,
 * which should be `.strict()` so that unknown names are refused. A name given twice is refused, not
 * settled by taking one of them. Errors name the parameter: `invalid_<name>`, or `invalid_query`.
 * The middleware's own parameters are left to it.
 */
export function parseQuery<T extends z.ZodType>(schema: T, all: Record<string, string[]>): z.infer<T> {
  const queries = Object.entries(all).filter(([name]) => !MIDDLEWARE_PARAMS.has(name))
  const first = Object.fromEntries(queries.map(([name, values]) => [name, values[0] ?? '']))
  const parsed = schema.safeParse(first)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0] ?? 'query')
    throw new ApiError(400, `invalid_${name}`, `${name}: ${issue.message}`, name)
  }
  for (const [name, values] of queries) {
    if (values.length > 1) {
      // A strict schema has refused unknown names already; were one left, it must not become a code.
      const code = name in (parsed.data as object) ? `invalid_${name}` : 'invalid_query'
      throw new ApiError(400, code, `${name}: given ${values.length} times; give it once`, name)
    }
  }
  return parsed.data
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/

/** The request's `Idempotency-Key`, if it sent one: 1 to 200 printable characters, else a 400. */
export function idempotencyKeyOf(c: { req: { header(name: string): string | undefined } }): string | null {
  const key = c.req.header('Idempotency-Key') ?? null
  if (key !== null && !IDEMPOTENCY_KEY.test(key)) {
    throw new ApiError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 200 printable characters')
  }
  return key
}
