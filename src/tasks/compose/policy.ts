/**
 * The task sandbox policy for the Compose files that tasks bring (docs/task-sandbox-policy.md).
 *
 * A harness hands a task's compose file to `docker compose` on a host whose Docker daemon is root
 * there and holds the worker's secrets: a privileged container, a host namespace or a bind mount of
 * `/` would give the task all of it. So every compose file a task brings is checked at upload, every
 * service and every top-level definition in it, and refused when it asks for anything that reaches
 * the host. An operator of a trusted deployment may relax rules by name (TASK_COMPOSE_ALLOW).
 *
 * Pure: the caller reads the files (`files.ts`) and passes their text.
 */
import type { ComposeRule } from '../../shared/compose-rules.js'
import { TaskArchiveError } from '../errors.js'
import type { TaskFormat } from '../task-format.js'
import { HARNESS_VARIABLES } from './harness-forms.js'
import { parseYaml } from './parse.js'
import { checkTopLevel } from './resources.js'
import { checkService } from './services.js'
import { isMapping, type Mapping, type Scope, type Violation } from './scope.js'

export type { Violation } from './scope.js'

export interface ComposeFile {
  /** Where it is in the task (`environment/docker-compose.yaml`), as messages name it. */
  readonly path: string
  readonly text: string
  readonly format: TaskFormat
  /** The `.env` beside it, which Compose reads to interpolate it; `null` when there is none. */
  readonly dotenv: string | null
}

/** Harbor lays the task's file over its own, which defines this service. */
const HARBOR_MAIN_SERVICE = 'main'

/**
 * Everything in `file` the policy refuses, whatever is allowed. Throws {@link TaskArchiveError}
 * `invalid_task_file` when it is not YAML, not a mapping, or of a shape Compose would not accept.
 */
export function composeViolations(file: ComposeFile): Violation[] {
  const document = parseCompose(file)
  const violations: Violation[] = []
  const services = document.services ?? {}
  if (!isMapping(services)) throw invalid(`${file.path}: services must be a mapping`)
  const scope: Scope = {
    format: file.format,
    services: new Set([...Object.keys(services), ...(file.format === 'harbor' ? [HARBOR_MAIN_SERVICE] : [])]),
    report: (rule, where, what) => violations.push({ rule, file: file.path, where, what }),
    invalid: (where, what) => {
      throw invalid(`${file.path}: ${where === null ? '' : `${where}: `}${what}`)
    },
  }
  for (const [name, service] of Object.entries(services)) checkService(name, service, scope)
  checkTopLevel(document, scope)
  if (file.dotenv !== null) violations.push(...dotenvViolations(file))
  return violations
}

/**
 * Throws {@link TaskArchiveError} `task_compose_forbidden` naming the first violation not in `allow`
 * (and how many more there are), or `invalid_task_file` as {@link composeViolations} does.
 */
export function checkComposeFile(file: ComposeFile, allow: readonly ComposeRule[]): void {
  const refused = composeViolations(file).filter((v) => !allow.includes(v.rule))
  const [first] = refused
  if (first === undefined) return
  const more = refused.length > 1 ? ` (and ${refused.length - 1} more)` : ''
  throw new TaskArchiveError('task_compose_forbidden', describeViolation(first) + more)
}

/** `environment/docker-compose.yaml: service "main": privileged true is not allowed (…)`. */
export function describeViolation(v: Violation): string {
  const why = v.rule === 'unknown_keys' ? 'this policy does not know it' : 'a task cannot reach the Docker host'
  const where = v.where === null ? '' : `${v.where}: `
  return `${v.file}: ${where}${v.what} is not allowed (${why}; TASK_COMPOSE_ALLOW=${v.rule} relaxes this)`
}

function parseCompose(file: ComposeFile): Mapping {
  const parsed = parseYaml(file.text)
  if (!parsed.ok) throw invalid(`${file.path} is not valid YAML: ${parsed.reason}`)
  if (!isMapping(parsed.value)) throw invalid(`${file.path} is not a Compose file: it is not a mapping`)
  return parsed.value
}

/** Variables the harness sets for its own mounts may not be set by the task's `.env`. */
function dotenvViolations(file: ComposeFile): Violation[] {
  const dotenvPath = file.path.replace(/[^/]*$/, '.env')
  const names = (file.dotenv ?? '')
    .split(/\r?\n/)
    .map((line) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && HARNESS_VARIABLES.has(name))
  return names.map((name) => ({
    rule: 'harness_variables' as const,
    file: dotenvPath,
    where: null,
    what: `setting ${name} (a variable of the harness's own mounts)`,
  }))
}

function invalid(message: string): TaskArchiveError {
  return new TaskArchiveError('invalid_task_file', message)
}
