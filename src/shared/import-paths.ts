/**
 * Agents and environments named by import path (`module.path:ClassName`). Harbor imports such a
 * module and builds its class in the worker's harness process, outside any task container, so a job
 * may name only the ones the operator allows (ALLOWED_IMPORT_PATHS, and DEFAULT_ENVIRONMENT when it
 * is one). Built-in names (the harness's own agents and environment types) are not import paths.
 * Pure: the API checks uploads with it, and the worker checks each attempt again before it starts.
 */

export type PluginField = 'agent' | 'environment'

/** The variable through which the operator allows an import path. */
export const ALLOWED_IMPORT_PATHS_VARIABLE = 'ALLOWED_IMPORT_PATHS'

/** A well-formed import path: dotted module name, a colon, a class name. */
export const IMPORT_PATH = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$/

/**
 * Whether the value of `field` names a class by import path, as Harbor reads it: any value with a
 * colon, except an agent's `acp:` registry shorthand (an ACP agent installed in the task's container).
 */
export function isImportPath(field: PluginField, value: string): boolean {
  if (!value.includes(':')) return false
  return !(field === 'agent' && value.startsWith('acp:'))
}

/** The fields of `choice` that name an import path not in `allowed`; empty when all may be used. */
export function refusedImportPaths(
  choice: Readonly<Record<PluginField, string>>,
  allowed: readonly string[],
): PluginField[] {
  return (['agent', 'environment'] as const).filter(
    (field) => isImportPath(field, choice[field]) && !allowed.includes(choice[field]),
  )
}

/** Why `value` of `field` may not be used (by `who`), and how the operator allows it. */
export function importPathRefusal(field: PluginField, value: string, who = 'this service'): string {
  return (
    `${field} ${value} is an import path ${who} does not allow: an operator allows it by adding ` +
    `it to ${ALLOWED_IMPORT_PATHS_VARIABLE} (comma-separated module.path:ClassName entries)`
  )
}
