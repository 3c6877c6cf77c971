/** Where the project's own files are, independent of the current directory. */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Our plugins for the harness (Harbor's `--plugin`), put on its PYTHONPATH. */
export const HARNESS_PLUGINS_DIR = path.join(PROJECT_ROOT, 'harness-plugins')

/** The project's Python virtualenv, where the bootstrap installs `harbor` and `temporal`. */
export const VENV_BIN = path.join(PROJECT_ROOT, '.venv', 'bin')

/**
 * An executable: the configured path, else the project's `.venv/bin/<name>`, else `<name>` on
 * `searchPath` (PATH, as configured). Returns null when none exists.
 */
export function findExecutable(name: string, configured: string | null, searchPath: string): string | null {
  if (configured) return existsSync(configured) ? configured : null
  const candidates = [VENV_BIN, ...searchPath.split(path.delimiter).filter(Boolean)]
  for (const dir of candidates) {
    const file = path.join(dir, name)
    if (existsSync(file)) return file
  }
  return null
}
