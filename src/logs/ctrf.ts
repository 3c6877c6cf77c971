/**
 * Test counts from a CTRF report (Common Test Report Format, https://ctrf.io), which verifiers such
 * as pytest with `pytest-json-ctrf` write to `verifier/ctrf.json`. Pure; a report that cannot be
 * read yields null rather than an error: the counts are extra information, not the outcome.
 */
import { z } from 'zod'
import type { TestCounts } from '../shared/outcome.js'

const Count = z.number().int().nonnegative()
const CtrfSchema = z.object({
  results: z.object({
    summary: z.object({
      tests: Count,
      passed: Count,
      failed: Count,
      skipped: Count.optional(),
      pending: Count.optional(),
      other: Count.optional(),
    }),
  }),
})

export function testCountsFromCtrf(text: string): TestCounts | null {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return null
  }
  const parsed = CtrfSchema.safeParse(json)
  if (!parsed.success) return null
  const s = parsed.data.results.summary
  return {
    total: s.tests,
    passed: s.passed,
    failed: s.failed,
    skipped: (s.skipped ?? 0) + (s.pending ?? 0),
    other: s.other ?? 0,
  }
}
