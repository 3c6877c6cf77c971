import { describe, expect, it } from 'vitest'
import {
  httpStatusFor,
  isTaskArchiveError,
  TASK_ARCHIVE_ERROR_CODES,
  TaskArchiveError,
} from '../../../src/tasks/errors.js'

describe('TaskArchiveError', () => {
  it('carries a code and a message', () => {
    const error = new TaskArchiveError('unsafe_path', 'Entry "../x" contains a ".." segment')
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('TaskArchiveError')
    expect(error.code).toBe('unsafe_path')
    expect(error.message).toContain('../x')
    expect(isTaskArchiveError(error)).toBe(true)
    expect(isTaskArchiveError(new Error('x'))).toBe(false)
    expect(error.task).toBeNull()
  })

  it('names the task of a dataset it is about, if any', () => {
    const cause = new TaskArchiveError('missing_task_file', 'Harbor task is missing tests/test.sh')
    const error = new TaskArchiveError('missing_task_file', `task "a": ${cause.message}`, { task: 'a', cause })
    expect(error.task).toBe('a')
    expect(error.cause).toBe(cause)
  })

  it('maps every code to 400, 413 or 422', () => {
    const statuses = Object.fromEntries(TASK_ARCHIVE_ERROR_CODES.map((code) => [code, httpStatusFor(code)]))
    expect(statuses).toEqual({
      not_a_zip: 400,
      corrupt_archive: 400,
      unsafe_path: 422,
      symlink: 422,
      unsupported_entry: 422,
      too_many_entries: 413,
      too_large_uncompressed: 413,
      zip_bomb: 413,
      encrypted_entry: 422,
      duplicate_entry: 422,
      empty_archive: 422,
      unknown_task_format: 422,
      missing_task_file: 422,
      invalid_task_file: 422,
      invalid_task: 422,
      task_compose_forbidden: 422,
      unsupported_task_format: 422,
      too_many_tasks: 413,
      duplicate_task_name: 422,
    })
  })
})
