/**
 * What the reliability suites measured, for `npm run reliability` (scripts/reliability-report.ts).
 * When RELIABILITY_REPORT_DIR is set, each `record` call appends one JSON line there; otherwise it
 * does nothing, so the tests run the same either way. The report script sums the lines per row.
 */
import { appendFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { beforeEach, onTestFinished } from 'vitest'

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
  /** An attack tried as a tenant or a web page would (`threat` says which), and whether it was stopped. */
  | 'attack'

/** What an attack goes after, for the report's table of attacks by kind. */
export const THREATS = {
  compose_escape: "a task's compose file reaching the Docker host",
  link_escape: "a run's files linking out of its folders",
  collected_too_much: 'a run writing more than is collected',
  cross_site: 'another web page or host name driving the API',
  token_in_url: 'tokens in URLs; tickets misused',
  per_token_caps: 'one token taking every stream or upload',
  import_path: 'an agent or environment imported from anywhere',
  upload_race: 'a failed upload removing a task another job uses',
  hosts_view: "a non-admin token reading hosts' addresses",
} as const
export type Threat = keyof typeof THREATS

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
  /** For an attack: what it goes after. */
  threat?: Threat
}

export async function record(entry: ReliabilityRecord): Promise<void> {
  const dir = process.env.RELIABILITY_REPORT_DIR
  if (!dir) return
  await mkdir(dir, { recursive: true })
  await appendFile(path.join(dir, `records-${process.pid}.jsonl`), JSON.stringify(entry) + '\n')
}

/**
 * Records every test of the enclosing file or block as an attack of kind `threat`, stopped when the
 * test passes. For suites whose tests each try one attack and check that it was refused or contained.
 */
export function recordAttacks(threat: Threat): void {
  beforeEach(() => {
    onTestFinished(({ task }) => record({ row: 'attack', threat, what: task.name, ok: task.result?.state === 'pass' }))
  })
}
