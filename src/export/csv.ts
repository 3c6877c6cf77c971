/**
 * CSV as RFC 4180 writes it (CRLF line ends; a field quoted when it holds a quote, a comma or a line
 * break, its quotes doubled), and safe to open in a spreadsheet: a text that a spreadsheet would
 * take for a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return; OWASP's
 * "CSV injection") is written with a leading `'`, so a task's name or an error message is shown,
 * never run. Numbers are written as numbers: the digits JavaScript writes for one are never a
 * formula, and a negative reward stays a number.
 */

/** A field: text, a number, or nothing (an empty field). */
export type CsvValue = string | number | null

const FORMULA_START = /^[=+\-@\t\r]/
const NEEDS_QUOTES = /[",\r\n]/

export function csvField(value: CsvValue): string {
  if (value === null) return ''
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : ''
  const text = FORMULA_START.test(value) ? `'${value}` : value
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** One record, with its line end. */
export function csvLine(values: readonly CsvValue[]): string {
  return values.map(csvField).join(',') + '\r\n'
}
