/** An exception → error class table: each class with the exception type names that belong to it. */
import type { ErrorClass } from '../shared/status.js'

export type ErrorClassTable = Partial<Record<ErrorClass, readonly string[]>>

/** A lookup over the tables: the class of a known exception type, or null for one they do not know. */
export function errorClassLookup(...tables: ErrorClassTable[]): (exceptionType: string) => ErrorClass | null {
  const byType = new Map<string, ErrorClass>()
  for (const table of tables)
    for (const [cls, names] of Object.entries(table) as [ErrorClass, readonly string[]][])
      for (const name of names) byType.set(name, cls)
  return (exceptionType) => byType.get(exceptionType) ?? null
}
