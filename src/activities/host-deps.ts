import type { Db } from '../db/database.js'
import { findJobSecret } from '../db/jobs.js'
import type { LogWriter } from '../db/log-writer.js'
import type { LogLimits } from '../db/run-logs.js'
import type { HarnessDriver } from '../harness/driver.js'
import type { HarnessName } from '../harness/registry.js'
import type { ManagedHost } from '../hosts/execution-host.js'
import type { Logger } from '../logger.js'
import type { WorkerMetrics } from '../observability/metrics.js'
import type { RunnerPool } from '../runners/runner-pool.js'
import { unseal } from '../secrets/sealed-box.js'
import type { ArtifactLimits } from './collect-output.js'

/** What the activities acting on one execution host are built over. */
export interface HostActivityDeps {
  db: Db
  host: ManagedHost
  /** Each harness this host runs; a job whose harness is missing here fails as an infra error. */
  drivers: Partial<Record<HarnessName, HarnessDriver>>
  /** The host's warm trial runners (Harbor's attempts run there); null where it has no Harbor. */
  runners: RunnerPool | null
  /** Local directory of stored tasks, by sha256. */
  taskStoreDir: string
  /**
   * The agents and environments a job may name by import path (the API checked its upload against
   * the same list); an attempt of a job naming another one is refused before anything starts.
   */
  allowedImportPaths: readonly string[]
  /** Local directory that keeps each attempt's collected harness output. */
  artifactsDir: string
  /** What is collected of one attempt's output at most (ARTIFACT_MAX_BYTES, ARTIFACT_MAX_FILES). */
  artifactLimits: ArtifactLimits
  masterKey: Buffer
  /** Keep attempt directories on the host after a run (for debugging). */
  keepHostFiles: boolean
  /** Commits what log tailers read (one per worker process, batching all its runs); direct when absent. */
  logWriter?: LogWriter
  /** What a run's log keeps (see appendRunLog). */
  logLimits: LogLimits
  /** How often a running harness's logs are read when polled (the interval grows past 250 harnesses). */
  pollIntervalMs: number
  /** Up to how many followed harnesses each one's files are read as they are written (`followMode`). */
  followLiveUpTo: number
  /** The runs someone watches live (an open log stream): followed live whatever the load. */
  watchedRuns?: { has(runId: string): boolean }
  /** How long a cancelled (or overdue) harness gets to tear down before it is killed. */
  cancelGraceMs: number
  /** Where the activities say what they did; each line carries its job, run and attempt. */
  logger?: Logger
  /** The worker's Prometheus metrics; none recorded without. */
  metrics?: WorkerMetrics
}

/** The job's OpenRouter key, or null when it has none (or it was purged because the job ended). */
export async function loadJobKey(
  deps: Pick<HostActivityDeps, 'db' | 'masterKey'>,
  jobId: string,
): Promise<string | null> {
  const sealed = await findJobSecret(deps.db, jobId)
  return sealed ? unseal(deps.masterKey, sealed, jobId) : null
}
