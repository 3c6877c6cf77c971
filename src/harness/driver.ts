/**
 * What the activities need to know about a harness, in one interface: where an attempt's pieces
 * live on the host, the command line, the files to follow while it runs, and how to read its
 * outcome from what it left. One implementation per harness (harbor/driver.ts, terminus/driver.ts).
 */
import type { JobRow, JobTaskRow } from '../db/schema.js'
import type { LogEntry } from '../db/run-logs.js'
import type { ExecutionHost } from '../hosts/execution-host.js'
import type { AttemptOutcome } from '../shared/outcome.js'
import type { TrialAttemptRequest } from './harbor/command.js'
import type { LogSource } from '../logs/log-tailer.js'

export interface AttemptIds {
  jobId: string
  runNumber: number
  attempt: number
}

/** An attempt's directories on the host, relative to its work dir. */
export interface AttemptPaths {
  root: string
  /** Where the stored task is staged. */
  task: string
  /** The harness's record: kept by its supervisor, or by the trial runner that runs it. */
  proc: string
  /** What the harness wrote, copied back when the attempt is collected. */
  output: string
  /** Inside `output`: this harness run's own directory (Harbor's job dir, tb's run dir). */
  runDir: string
}

/** What the harness process left besides its output directory. */
export interface HarnessExit {
  exitCode: number | null
  stdout: string
  stderr: string
}

export interface ReadOutcome {
  outcome: AttemptOutcome
  /** The harness's own result document, kept with the attempt; null if there is none. */
  result: object | null
}

/** How an attempt's harness starts on its host. */
export type HarnessLaunch =
  /** A process of its own under the supervisor: its command line and its environment besides secrets. */
  | { kind: 'process'; argv: string[]; env: Record<string, string> }
  /** A trial in the host's warm trial runner. */
  | { kind: 'trial'; attempt: TrialAttemptRequest }

export interface HarnessDriver {
  /** Where the attempt's files live on its host; `task` is the job task this run runs. */
  paths(ids: AttemptIds, job: JobRow, task: JobTaskRow, attemptDir: string): AttemptPaths
  launch(job: JobRow, paths: AttemptPaths, host: ExecutionHost): HarnessLaunch
  /** The files to follow while the harness runs (some appear only as it goes). */
  logSources(host: ExecutionHost, paths: AttemptPaths): Promise<LogSource[]>
  /**
   * The harness phase this log entry moves the run into, if it moves it: resolved as the entry is
   * read, and stored with the line (a `phase` line) and as the run's phase.
   */
  phaseOf(entry: LogEntry): string | null
  /** The attempt's outcome from a local copy of its output directory. */
  readOutcome(localOutput: string, paths: AttemptPaths, exit: HarnessExit): Promise<ReadOutcome>
}
