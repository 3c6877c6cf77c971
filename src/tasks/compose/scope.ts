/**
 * What the checks of one compose file share: the task's format, the services a `service:` reference
 * may name, and where the violations found go. Plus small helpers over parsed YAML values.
 */
import type { ComposeRule } from '../../shared/compose-rules.js'
import type { TaskFormat } from '../task-format.js'

/** One thing a compose file asks for that the policy refuses. */
export interface Violation {
  readonly rule: ComposeRule
  /** The file, as a path inside the task. */
  readonly file: string
  /** Which part of it: `service "main"`, `volume "data"`, …; `null` for the file as a whole. */
  readonly where: string | null
  /** What is refused: the key and its value, e.g. `privileged true`. */
  readonly what: string
}

export interface Scope {
  readonly format: TaskFormat
  /** Services a `service:<name>` reference may name: the file's own, and Harbor's `main`. */
  readonly services: ReadonlySet<string>
  report(rule: ComposeRule, where: string | null, what: string): void
  /** The file is not a compose file Compose would accept: stops the check. */
  invalid(where: string | null, what: string): never
}

export type Mapping = Record<string, unknown>

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Absent, or given but empty: asks for nothing. */
export function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true
  if (Array.isArray(value)) return value.length === 0
  if (isMapping(value)) return Object.keys(value).length === 0
  return false
}

/** A flag that is off: absent or `false` (any other value, `"false"` or `${VAR}` included, counts as on). */
export function isOff(value: unknown): boolean {
  return value === null || value === undefined || value === false
}

/** Compose's extension keys (`x-…`), which Compose itself ignores. */
export function isExtension(key: string): boolean {
  return key.startsWith('x-')
}

/** A value as shown in a message: JSON, cut to 120 characters. */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}

/** Checks one key's value; `key` is as shown in messages (`build.network`). */
export type KeyCheck = (value: unknown, key: string, where: string, scope: Scope) => void

/** A key that asks for nothing the policy refuses. */
export const allowed: KeyCheck = () => {}

/** A key refused under `rule` unless its value is harmless. */
export function refuseUnless(rule: ComposeRule, harmless: (value: unknown) => boolean): KeyCheck {
  return (value, key, where, scope) => {
    if (!harmless(value)) scope.report(rule, where, `${key} ${show(value)}`)
  }
}

/** Checks every key of `mapping` by its entry in `checks`; a key without one is unknown, and refused. */
export function checkKeys(
  mapping: Mapping,
  checks: Readonly<Record<string, KeyCheck>>,
  where: string,
  scope: Scope,
  prefix = '',
): void {
  for (const [key, value] of Object.entries(mapping)) {
    if (isExtension(key)) continue
    const check = Object.hasOwn(checks, key) ? checks[key] : undefined
    if (check) check(value, `${prefix}${key}`, where, scope)
    else scope.report('unknown_keys', where, `${prefix}${key}`)
  }
}

/** `service "main"`, `volume "data"`: a named part of the file, for messages. */
export function named(kind: string, name: string): string {
  return `${kind} ${show(name)}`
}
