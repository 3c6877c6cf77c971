/**
 * What the reliability suites measured, for `npm run reliability` (scripts/reliability-report.ts).
 * When RELIABILITY_REPORT_DIR is set, each `record` call appends one JSON line there; otherwise it
 * does nothing, so the tests run the same either way. The report script sums the lines per row.
 */
import { appendFile, mkdir } from 'node:fs/promises'
import path from 'node:path'

export type ReliabilityRow =
  /** A fault injected (a server restarted, a process killed, a disk filled) and whether all jobs came through. */
  | 'fault'
  /** A bad input sent, and whether it got the expected 4xx code and left nothing behind. */
  | 'bad_input'
  /** Requests made under load, and whether each was answered correctly. */
  | 'request'
  /** Runs started under faults or load, and whether each ended as asked (completed or cancelled). */
  | 'run'
  /** Places searched for secrets, and whether each was clean. */
  | 'secret_scan'

export interface ReliabilityRecord {
  row: ReliabilityRow
  /** What was tried, e.g. "Temporal server restarted mid-job" or the bad-input case's name. */
  what: string
  /** Whether it came out right. */
  ok: boolean
  /** Items lost (runs, log lines, jobs): must be 0. */
  lost?: number
  /** Items done twice (a run's harness started twice, a duplicated log line): must be 0. */
  duplicated?: number
  /** Secrets found: must be 0. */
  secretsFound?: number
}

export async function record(entry: ReliabilityRecord): Promise<void> {
  const dir = process.env.RELIABILITY_REPORT_DIR
  if (!dir) return
  await mkdir(dir, { recursive: true })
  await appendFile(path.join(dir, `records-${process.pid}.jsonl`), JSON.stringify(entry) + '\n')
}
