/**
 * Finds the compose files a task brings, where its harness looks for them, and checks each against
 * the sandbox policy (`policy.ts`) with the `.env` beside it:
 *
 * - Harbor: `environment/docker-compose.yaml` (laid over Harbor's own base file), and the separate
 *   verifier environments' `tests/docker-compose.yaml` and `steps/<step>/tests/docker-compose.yaml`.
 * - Terminal-Bench 1: `docker-compose.yaml` at the task's root.
 *
 * `.yml` spellings are checked too: the format detection accepts them as the task's environment.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { ComposeRule } from '../../shared/compose-rules.js'
import { TaskArchiveError } from '../errors.js'
import type { TaskFormat } from '../task-format.js'
import { checkComposeFile } from './policy.js'

const COMPOSE_NAMES = ['docker-compose.yaml', 'docker-compose.yml']
// Real compose files are a few KiB; parsing is bounded by this (about 0.2 s at worst).
const MAX_COMPOSE_BYTES = 64 * 1024
const MAX_DOTENV_BYTES = 1024 * 1024

export interface ComposeCheckOptions {
  /** Rules relaxed by the operator (TASK_COMPOSE_ALLOW); empty: all of them apply. */
  readonly allow: readonly ComposeRule[]
  /** Said after each file's path in messages, e.g. for a task converted by `harbor task migrate`. */
  readonly note?: string
}

/**
 * Resolves when every compose file of the task at `root` passes; throws {@link TaskArchiveError}
 * `task_compose_forbidden` or `invalid_task_file` (not UTF-8 text, over 64 KiB, not YAML) otherwise.
 */
export async function checkTaskComposeFiles(
  root: string,
  format: TaskFormat,
  options: ComposeCheckOptions,
): Promise<void> {
  for (const folder of await composeFolders(root, format)) {
    for (const name of COMPOSE_NAMES) {
      const relPath = `${folder}${name}`
      const text = await readText(root, relPath, { strict: true, maxBytes: MAX_COMPOSE_BYTES })
      if (text === null) continue
      const dotenv = await readText(root, `${folder}.env`, { strict: false, maxBytes: MAX_DOTENV_BYTES })
      const shown = options.note ? `${relPath} (${options.note})` : relPath
      checkComposeFile({ path: shown, text, format, dotenv }, options.allow)
    }
  }
}

/** Folders (relative, with a trailing slash; `''` for the root) where the harness reads a compose file. */
async function composeFolders(root: string, format: TaskFormat): Promise<string[]> {
  if (format === 'terminal-bench') return ['']
  const steps = await fs.readdir(path.join(root, 'steps'), { withFileTypes: true }).catch(() => [])
  const stepTests = steps.filter((e) => e.isDirectory()).map((e) => `steps/${e.name}/tests/`)
  return ['environment/', 'tests/', ...stepTests.sort()]
}

/** A regular file's text, or `null` when there is none. `strict`: refuse what is not UTF-8 text. */
async function readText(
  root: string,
  relPath: string,
  { strict, maxBytes }: { strict: boolean; maxBytes: number },
): Promise<string | null> {
  const file = path.join(root, ...relPath.split('/'))
  let stats
  try {
    stats = await fs.lstat(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return null
    throw error
  }
  if (!stats.isFile()) return null
  if (stats.size > maxBytes) {
    throw new TaskArchiveError('invalid_task_file', `${relPath} is larger than ${maxBytes / 1024} KiB`)
  }
  const bytes = await fs.readFile(file)
  try {
    const text = new TextDecoder('utf-8', { fatal: strict }).decode(bytes)
    if (strict && text.includes('\u0000')) throw new Error('NUL')
    return text
  } catch {
    throw new TaskArchiveError('invalid_task_file', `${relPath} is not UTF-8 text`)
  }
}
