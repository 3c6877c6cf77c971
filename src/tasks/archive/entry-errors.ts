/** The archive's errors: about one entry (its name quoted), the whole archive, or not the archive's fault. */
import { TaskArchiveError } from '../errors.js'
import type { TaskArchiveErrorCode } from '../errors.js'

export function corrupt(name: string, why: string): TaskArchiveError {
  return entryError('corrupt_archive', name, why)
}

/** An error about one entry; the message starts with the entry's name, quoted and escaped. */
export function entryError(code: TaskArchiveErrorCode, name: string, why: string): TaskArchiveError {
  return new TaskArchiveError(code, `Entry ${quote(name)} ${why}`)
}

export function tooLarge(limits: { maxUncompressedBytes: number }): TaskArchiveError {
  return new TaskArchiveError(
    'too_large_uncompressed',
    `The archive expands to more than ${limits.maxUncompressedBytes} bytes`,
  )
}

export function quote(name: string): string {
  const shown = name.length > 200 ? `${name.slice(0, 200)}…` : name
  return JSON.stringify(shown)
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Errors from the operating system (disk full, permissions…), as opposed to errors about the archive. */
export function isSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string'
}
