/**
 * Recognises what kind of task an extracted upload is, checks that the files its format requires are
 * there, and settles on a safe name for it. Two formats are accepted:
 *
 * - Harbor: `task.toml`, `instruction.md`, `environment/` (a Dockerfile or compose file, unless
 *   task.toml names a prebuilt `[environment] docker_image`) and `tests/test.sh`.
 * - Terminal-Bench 1: `task.yaml`, `run-tests.sh` and a `Dockerfile` or compose file.
 *
 * Only the little of task.toml that is needed here is read, with a line-based scan: the service does
 * not interpret task configuration, Harbor does.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { TaskArchiveError } from './errors.js'

export type TaskFormat = 'harbor' | 'terminal-bench'

/** Key files of a task, as relative posix paths from its root. */
export interface DetectedTaskFiles {
  /** `task.toml` (Harbor) or `task.yaml` (Terminal-Bench). */
  readonly config: string
  /** `instruction.md` for Harbor; `null` for Terminal-Bench, whose instruction is inside task.yaml. */
  readonly instruction: string | null
  /** The compose file if there is one, else the Dockerfile; `null` when task.toml names a prebuilt image. */
  readonly environment: string | null
  /** The verifier entry point: `tests/test.sh` (Harbor) or `run-tests.sh` (Terminal-Bench). */
  readonly tests: string
  /** The reference solution when present: `solution/solve.sh`, `solution.sh` or `solution.yaml`. */
  readonly solution: string | null
}

export interface DetectedTask {
  readonly format: TaskFormat
  /** 1–64 characters of `[A-Za-z0-9._-]`, not starting with `.` or `-`; or two such, as `org/name`. */
  readonly name: string
  readonly files: DetectedTaskFiles
}

export interface DetectTaskOptions {
  /**
   * Name to use when the task does not declare one, typically the uploaded file's name or the archive's
   * single top-level folder. A trailing `.zip` is dropped. Without it, the root directory's name is used.
   */
  readonly fallbackName?: string
}

const MAX_TASK_TOML_BYTES = 1024 * 1024
const MAX_NAME_LENGTH = 64
// A plain name, or Harbor's package form `org/name`.
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}(\/[A-Za-z0-9_][A-Za-z0-9._-]{0,63})?$/
const DEFAULT_NAME = 'task'

const HARBOR_ENVIRONMENT_FILES = [
  'environment/docker-compose.yaml',
  'environment/docker-compose.yml',
  'environment/Dockerfile',
]
const TB_ENVIRONMENT_FILES = ['docker-compose.yaml', 'docker-compose.yml', 'Dockerfile']

/**
 * Detects the task format at `root` (Harbor wins when both config files exist) and validates it.
 *
 * Rejects with `TaskArchiveError`: `unknown_task_format` when neither task.toml nor task.yaml is at
 * the root, `missing_task_file` naming the first required file that is absent, `invalid_task_file`
 * when task.toml is not UTF-8 text. Only regular files count (a symlink does not).
 *
 * The name is the first of these that yields a safe name: task.toml's `[task] name`, the fallback
 * name, the root directory's name; each is sanitised (see `sanitiseTaskName`), else `"task"`.
 */
export async function detectTask(root: string, options: DetectTaskOptions = {}): Promise<DetectedTask> {
  if (await isFile(root, 'task.toml')) return detectHarbor(root, options)
  if (await isFile(root, 'task.yaml')) return detectTerminalBench(root, options)
  throw new TaskArchiveError(
    'unknown_task_format',
    'The archive has neither task.toml (Harbor) nor task.yaml (Terminal-Bench) at its root, ' +
      'nor inside a single top-level folder',
  )
}

async function detectHarbor(root: string, options: DetectTaskOptions): Promise<DetectedTask> {
  const settings = scanToml(await readTaskToml(root))
  await requireFile(root, 'instruction.md', 'Harbor')
  const environment = await firstFile(root, HARBOR_ENVIRONMENT_FILES)
  if (environment === null && !settings.get('environment.docker_image')) {
    throw new TaskArchiveError(
      'missing_task_file',
      'Harbor task is missing environment/Dockerfile (or environment/docker-compose.yaml), ' +
        'and task.toml sets no [environment] docker_image',
    )
  }
  await requireFile(root, 'tests/test.sh', 'Harbor')
  const files: DetectedTaskFiles = {
    config: 'task.toml',
    instruction: 'instruction.md',
    environment,
    tests: 'tests/test.sh',
    solution: await firstFile(root, ['solution/solve.sh']),
  }
  const name = chooseName([settings.get('task.name'), fallback(options), path.basename(root)])
  return { format: 'harbor', name, files }
}

async function detectTerminalBench(root: string, options: DetectTaskOptions): Promise<DetectedTask> {
  await requireFile(root, 'run-tests.sh', 'Terminal-Bench')
  const environment = await firstFile(root, TB_ENVIRONMENT_FILES)
  if (environment === null) {
    throw new TaskArchiveError(
      'missing_task_file',
      'Terminal-Bench task is missing Dockerfile (or docker-compose.yaml)',
    )
  }
  const files: DetectedTaskFiles = {
    config: 'task.yaml',
    instruction: null,
    environment,
    tests: 'run-tests.sh',
    solution: await firstFile(root, ['solution.sh', 'solution.yaml']),
  }
  const name = chooseName([fallback(options), path.basename(root)])
  return { format: 'terminal-bench', name, files }
}

async function requireFile(root: string, relPath: string, format: string): Promise<void> {
  if (!(await isFile(root, relPath))) {
    throw new TaskArchiveError('missing_task_file', `${format} task is missing ${relPath}`)
  }
}

async function firstFile(root: string, candidates: string[]): Promise<string | null> {
  for (const candidate of candidates) {
    if (await isFile(root, candidate)) return candidate
  }
  return null
}

async function isFile(root: string, relPath: string): Promise<boolean> {
  try {
    const stats = await fs.lstat(path.join(root, ...relPath.split('/')))
    return stats.isFile()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return false
    throw error
  }
}

/** Reads task.toml as text, rejecting what is plainly not a TOML file: huge, binary or not UTF-8. */
async function readTaskToml(root: string): Promise<string> {
  const file = path.join(root, 'task.toml')
  const { size } = await fs.stat(file)
  if (size > MAX_TASK_TOML_BYTES) {
    throw new TaskArchiveError('invalid_task_file', 'task.toml is larger than 1 MiB')
  }
  const bytes = await fs.readFile(file)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new TaskArchiveError('invalid_task_file', 'task.toml is not valid UTF-8 text')
  }
  if (text.includes('\u0000')) throw new TaskArchiveError('invalid_task_file', 'task.toml is not a text file')
  return text
}

/**
 * A deliberately small TOML reader: returns single-line string values by dotted key (`task.name`,
 * `environment.docker_image`), first occurrence wins. Skips multi-line strings and arrays so that their
 * contents are never mistaken for tables or keys. Anything fancier is ignored, not rejected.
 */
function scanToml(text: string): Map<string, string> {
  const values = new Map<string, string>()
  let table = ''
  let openString: string | null = null
  let arrayDepth = 0
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim()
    if (openString !== null) {
      if (line.includes(openString)) openString = null
      continue
    }
    if (arrayDepth > 0) {
      arrayDepth = Math.max(0, arrayDepth + bracketBalance(line))
      continue
    }
    if (line === '' || line.startsWith('#')) continue
    const header = /^\[\[?([^[\]]+)\]\]?\s*(?:#.*)?$/.exec(line)
    if (header?.[1] !== undefined) {
      table = normaliseKey(header[1])
      continue
    }
    const pair = /^([A-Za-z0-9_."' -]+?)\s*=\s*(.*)$/.exec(line)
    if (pair?.[1] === undefined || pair[2] === undefined) continue
    const value = pair[2]
    const delimiter = value.slice(0, 3)
    if (delimiter === '"""' || delimiter === "'''") {
      if (!value.slice(3).includes(delimiter)) openString = delimiter
      continue
    }
    if (value.startsWith('[')) {
      arrayDepth = Math.max(0, bracketBalance(value))
      continue
    }
    const key = table === '' ? normaliseKey(pair[1]) : `${table}.${normaliseKey(pair[1])}`
    const parsed = parseStringValue(value)
    if (parsed !== null && !values.has(key)) values.set(key, parsed)
  }
  return values
}

function normaliseKey(key: string): string {
  return key
    .split('.')
    .map((part) => part.trim().replace(/^(["'])(.*)\1$/, '$2'))
    .join('.')
}

/** Net `[` minus `]` outside quoted strings. */
function bracketBalance(text: string): number {
  const unquoted = text.replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, '')
  const withoutComment = unquoted.replace(/#.*$/, '')
  return (withoutComment.match(/\[/g)?.length ?? 0) - (withoutComment.match(/]/g)?.length ?? 0)
}

/** A basic (`"..."`) or literal (`'...'`) string, optionally followed by a comment; else `null`. */
function parseStringValue(value: string): string | null {
  const basic = /^"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$/.exec(value)
  if (basic?.[1] !== undefined) {
    try {
      return JSON.parse(`"${basic[1]}"`) as string
    } catch {
      return basic[1]
    }
  }
  const literal = /^'([^']*)'\s*(?:#.*)?$/.exec(value)
  return literal?.[1] ?? null
}

function fallback(options: DetectTaskOptions): string | undefined {
  return options.fallbackName?.replace(/\.zip$/i, '')
}

function chooseName(candidates: Array<string | undefined>): string {
  for (const candidate of candidates) {
    const name = candidate === undefined ? null : sanitiseTaskName(candidate)
    if (name !== null) return name
  }
  return DEFAULT_NAME
}

/**
 * Returns `raw` when it is already a safe task name (1–64 of `[A-Za-z0-9._-]`, not starting with `.`
 * or `-`), else a safe name derived from it (accents dropped, other characters turned into `-`,
 * trimmed, cut to 64), or `null` when nothing usable is left.
 */
export function sanitiseTaskName(raw: string): string | null {
  if (SAFE_NAME.test(raw)) return raw
  const derived = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+/, '')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/[-.]+$/, '')
  return SAFE_NAME.test(derived) ? derived : null
}
