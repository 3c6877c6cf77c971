/** What the configuration's sections share: the value types of their variables, and the error. */
import { z } from 'zod'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** A section's variables as parsed (defaults applied), from its part of the schema. */
export type EnvOf<Shape extends z.ZodRawShape> = z.output<z.ZodObject<Shape>>

export const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v))

export const port = z.coerce.number().int().min(1).max(65535)
export const positiveInt = z.coerce.number().int().positive()
export const bytes = z.coerce.number().int().positive()

/** `host:port` */
export const hostPort = z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port')

/** A comma-separated list, its entries trimmed, empty ones dropped. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

/** The error for problems found past the schema, one line each. */
export function invalid(...problems: string[]): ConfigError {
  return new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`)
}
