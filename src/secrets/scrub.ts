/** Replaces every occurrence of the given secrets in a text with a marker. */
export const REDACTED = '[REDACTED]'

export type Scrubber = (text: string) => string

export function makeScrubber(secrets: readonly (string | null | undefined)[]): Scrubber {
  // Very short values would redact ordinary text; keys are far longer than this.
  const values = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8)
  if (values.length === 0) return (text) => text
  return (text) => values.reduce((acc, secret) => (acc.includes(secret) ? acc.replaceAll(secret, REDACTED) : acc), text)
}
