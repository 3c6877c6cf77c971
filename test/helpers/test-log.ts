/**
 * What the code under test logs, kept in memory and printed only when a test fails: a passing suite
 * prints no log line, and a failing test shows what the service said while it ran (with what was
 * logged before it since the last test, e.g. in `beforeAll`). `test/helpers/log-on-failure.ts` (a
 * setup file of every test file) prints and clears the buffer as each test ends.
 */
import { createLogger, type Logger, type LogLevel } from '../../src/logger.js'

/** Enough for the story of a failing test; the oldest lines go first. */
const MAX_LINES = 5_000

const lines: string[] = []
let dropped = 0

/** A logger whose lines go to the buffer. */
export function testLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  return createLogger(level, base, keepLine)
}

/** Adds one line (ending with a newline) to the buffer. */
export function keepLine(line: string): boolean {
  lines.push(line)
  if (lines.length > MAX_LINES) {
    lines.shift()
    dropped++
  }
  return true
}

/** Empties the buffer, returning what it held (with a note of lines dropped for room). */
export function takeLines(): string {
  const text = (dropped > 0 ? `(${dropped} earlier lines dropped)\n` : '') + lines.join('')
  lines.length = 0
  dropped = 0
  return text
}
