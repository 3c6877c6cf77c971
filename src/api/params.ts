/** Path and query parameters, validated before they reach a query. */
import type { z } from 'zod'
import { ApiError } from './errors.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function jobIdParam(value: string | undefined): string {
  if (!value || !UUID.test(value)) throw new ApiError(400, 'invalid_job_id', 'job_id must be a UUID')
  return value.toLowerCase()
}

export function runNumberParam(value: string | undefined): number {
  const n = Number(value)
  if (!value || !/^\d{1,9}$/.test(value) || n < 1) {
    throw new ApiError(400, 'invalid_run_number', 'run_number must be a positive whole number')
  }
  return n
}

/** Parses a query string object against `schema`; errors name the parameter. */
export function parseQuery<T extends z.ZodType>(schema: T, query: Record<string, string>): z.infer<T> {
  const parsed = schema.safeParse(query)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0] ?? 'query')
    throw new ApiError(400, `invalid_${name}`, `${name}: ${issue.message}`, name)
  }
  return parsed.data
}
