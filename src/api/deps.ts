/**
 * What the API is built over (`createApp` in app.ts): every dependency explicit, so tests and the
 * server build it the same way. The routes take it too; kept apart from app.ts, which imports the
 * routes, so that no route imports the module that imports it.
 */
import type { Config } from '../config.js'
import type { Db } from '../db/database.js'
import type { RunWatchAnnouncer } from '../db/run-watch.js'
import type { HarnessCatalog } from '../harness/catalog.js'
import type { HarnessName } from '../harness/registry.js'
import type { ApiMetrics, Exposition } from '../observability/metrics.js'
import type { TaskChecker } from '../tasks/harness-checks.js'
import type { JobWorkflowInput } from '../workflows/job-workflow.js'
import type { RetriedRun } from '../shared/job-control.js'
import type { LogNotifier } from './log-notifier.js'
import type { TokenCheck } from './token-cache.js'

/** How the API hands jobs to the orchestrator. */
export interface JobStarter {
  start(input: JobWorkflowInput): Promise<void>
  /** Asks the job's workflow to cancel; a workflow already gone is not an error. */
  cancel(jobId: string): Promise<void>
  /** Pauses or resumes the job's workflow; a refusal is a JobControlRefused. */
  setPaused(jobId: string, paused: boolean, requestId?: string): Promise<void>
  /** Retries ended runs of the job (its workflow started again if it has ended); a refusal is a JobControlRefused. */
  retry(input: JobWorkflowInput, runNumbers: number[], requestId?: string): Promise<RetriedRun[]>
  /** Whether the orchestrator answers. */
  ping(): Promise<boolean>
}

export interface AppDeps {
  config: Config
  db: Db
  masterKey: Buffer
  jobs: JobStarter
  notifier: LogNotifier
  /** Who a request's token is (kept in memory, forgotten on every change to the tokens). */
  tokens: TokenCheck
  /** Tells the workers which runs have an open log stream, so that they follow those live. */
  runWatch: RunWatchAnnouncer
  /** Checks tasks by their harness's own rules; null skips those checks (no harness installed here). */
  taskChecker: TaskChecker | null
  /** What the installed harnesses offer (agents, environments), for forms. */
  harnessCatalog: () => Promise<HarnessCatalog>
  /** The harnesses' CLIs installed here, for their tasks' preparation (Harbor converts Terminal-Bench tasks). */
  harnessBins: Partial<Record<HarnessName, string>>
  /** Whether the API may run open while no token exists: only when it listens on loopback. */
  openModeAllowed: boolean
  /** An unexpected failure: `request` says which route it happened on. */
  logError: (err: unknown, request?: RequestLabel) => void
  /** Prometheus metrics: what the API records, and what `GET /metrics` serves; none when absent. */
  metrics?: { api: ApiMetrics; scrape: () => Promise<Exposition> } | null
}

/** A request as logs and metrics name it: by route pattern, never by its path (ids stay out). */
export interface RequestLabel {
  method: string
  route: string
}
