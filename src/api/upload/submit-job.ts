/**
 * Submitting a job: an uploaded task archive and the run settings in, a job with N queued runs out.
 *
 * The archive is unpacked by the safe reader, its format detected and checked, prepared for the
 * chosen harness, checked by the harness's own rules, and stored content-addressed. Only then are
 * the job's rows written (with the key sealed) and its workflow started. Any rejection is an
 * `ApiError` with its own code and leaves nothing behind: no row, no stored task, no workflow (the
 * caller removes its working directory). Everything it works over is handed in.
 */
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import type { Db } from '../../db/database.js'
import { deleteJob, findJob, findJobByIdempotencyKey, insertJobWithRuns, OwnerLimitError } from '../../db/jobs.js'
import type { JobRow } from '../../db/schema.js'
import { removeTaskUnlessReferenced, withTaskReference } from '../../db/task-refs.js'
import { HarnessUnavailableError, type PreparedTask, type UploadedTask } from '../../harness/harness.js'
import type { HarnessName } from '../../harness/registry.js'
import { seal } from '../../secrets/sealed-box.js'
import { extractArchive } from '../../tasks/archive.js'
import { checkTaskComposeFiles } from '../../tasks/compose/files.js'
import { TaskArchiveError, httpStatusFor } from '../../tasks/errors.js'
import type { TaskChecker } from '../../tasks/harness-checks.js'
import { detectTask } from '../../tasks/task-format.js'
import type { LimitsConfig, TasksConfig } from '../../config/limits.js'
import type { JobStarter } from '../deps.js'
import { ApiError } from '../errors.js'
import type { UploadForm } from './upload-form.js'

/** The content-addressed task store. */
export interface TaskStoreOps {
  hash(root: string): Promise<string>
  store(root: string, sha256: string): Promise<void>
  remove(sha256: string): Promise<void>
}

export interface SubmitJobDeps {
  db: Db
  masterKey: Buffer
  limits: Pick<
    LimitsConfig,
    'uploadEntries' | 'uploadUncompressedBytes' | 'uploadCompressionRatio' | 'activeJobsPerToken' | 'activeRunsPerToken'
  >
  composeAllow: TasksConfig['composeAllow']
  /** The service's cap on a run's time; also its limit when the task states none. */
  runTimeLimitMaxSec: number
  maxAttempts: number
  /** The task as the chosen harness runs it (as it is, or converted) in `workDir`. */
  prepareTask(task: UploadedTask, harness: HarnessName, workDir: string): Promise<PreparedTask>
  /** Checks tasks by their harness's own rules; null skips those checks. */
  taskChecker: Pick<TaskChecker, 'check'> | null
  tasks: TaskStoreOps
  jobs: JobStarter
  logError(err: unknown): void
}

export interface SubmitJobInput {
  /** The received archive, and the name the client gave it. */
  archive: { path: string; filename: string }
  /** A private directory of this request's, removed by the caller afterwards. */
  workDir: string
  form: UploadForm
  owner: string | null
  idempotencyKey: string | null
}

/** The job, and whether it is one an earlier request with the same Idempotency-Key submitted. */
export interface SubmitJobResult {
  job: JobRow
  replay: boolean
}

export async function submitJob(deps: SubmitJobDeps, input: SubmitJobInput): Promise<SubmitJobResult> {
  const earlier = await findReplay(deps, input)
  if (earlier) return earlier
  const task = await unpackTask(deps, input)
  const runnable = await prepareForHarness(deps, task, input)
  const checked = deps.taskChecker
    ? await checkTask(() => deps.taskChecker!.check(runnable.kind, runnable.root))
    : { timeLimitSec: null }
  const sha256 = await deps.tasks.hash(runnable.root)
  const jobId = randomUUID()
  const winner = await storeAndInsert(deps, input, { jobId, task, sha256, root: runnable.root }, checked.timeLimitSec)
  if (winner) return winner
  await startOrUndo(deps, input.form, { jobId, name: task.name, sha256 })
  const job = await findJob(deps.db, jobId)
  return { job: job!, replay: false }
}

/** The job an earlier request with this Idempotency-Key submitted, if any. */
async function findReplay(deps: SubmitJobDeps, input: SubmitJobInput): Promise<SubmitJobResult | null> {
  if (!input.idempotencyKey) return null
  const existing = await findJobByIdempotencyKey(deps.db, input.owner, input.idempotencyKey)
  return existing ? { job: existing, replay: true } : null
}

interface StoredJob {
  jobId: string
  task: UploadedTask & { name: string }
  sha256: string
  root: string
}

/**
 * The task stored and its job inserted under the task's lock, so that no failing upload removes the
 * task in between. A refusal removes the task again (unless a job references it); a lost race of two
 * requests with one Idempotency-Key answers with the winner's job.
 */
async function storeAndInsert(
  deps: SubmitJobDeps,
  input: SubmitJobInput,
  stored: StoredJob,
  taskLimitSec: number | null,
): Promise<SubmitJobResult | null> {
  const { db, limits } = deps
  let written = false
  try {
    await withTaskReference(db, stored.sha256, async (trx) => {
      await deps.tasks.store(stored.root, stored.sha256)
      written = true
      await insertJobWithRuns(trx, newJob(deps, input, stored, taskLimitSec), randomUUID, {
        activeJobs: limits.activeJobsPerToken,
        activeRuns: limits.activeRunsPerToken,
      })
    })
    return null
  } catch (err) {
    if (written) await releaseTask(deps, stored.sha256)
    if (err instanceof OwnerLimitError) throw new ApiError(429, `too_many_${err.limit}`, err.message)
    const winner = await findReplay(deps, input)
    if (winner) return winner
    throw err
  }
}

function newJob(deps: SubmitJobDeps, input: SubmitJobInput, stored: StoredJob, taskLimitSec: number | null) {
  const { form } = input
  const { jobId, task } = stored
  return {
    job: {
      id: jobId,
      task_name: task.name,
      task_format: task.format,
      task_sha256: stored.sha256,
      harness: form.harness,
      agent: form.agent,
      model: form.model,
      environment: form.environment,
      n_runs: form.n_runs,
      max_parallel: form.max_parallel,
      timeout_multiplier: form.timeout_multiplier,
      run_time_limit_sec: runTimeLimit(taskLimitSec, form.timeout_multiplier, deps.runTimeLimitMaxSec),
      idempotency_key: input.idempotencyKey,
      owner_token_id: input.owner,
    },
    secret: form.openrouter_key ? seal(deps.masterKey, form.openrouter_key, jobId) : null,
  }
}

/** Starts the job's workflow; if the orchestrator cannot be reached, the job and its task are undone. */
async function startOrUndo(
  deps: SubmitJobDeps,
  form: UploadForm,
  job: { jobId: string; name: string; sha256: string },
): Promise<void> {
  try {
    await deps.jobs.start({
      jobId: job.jobId,
      nRuns: form.n_runs,
      maxParallel: form.max_parallel,
      maxAttempts: deps.maxAttempts,
      label: { taskName: job.name, harness: form.harness, agent: form.agent, model: form.model },
    })
  } catch (err) {
    await deleteJob(deps.db, job.jobId)
    await releaseTask(deps, job.sha256)
    deps.logError(err)
    throw new ApiError(
      503,
      'orchestrator_unavailable',
      'the job could not be started: Temporal is not reachable; try again',
    )
  }
}

/**
 * Removes the stored task of a job that will not exist, unless a job references it. Whichever
 * upload stored it: under the task's lock no other upload is between storing it and committing its
 * job, so a task no job references is one no job needs.
 */
async function releaseTask(deps: SubmitJobDeps, sha256: string): Promise<void> {
  await removeTaskUnlessReferenced(deps.db, sha256, () => deps.tasks.remove(sha256))
}

/** Margin over the task's own timeouts before a harness run is stopped from outside. */
const RUN_TIME_MARGIN_SEC = 300

/** The task's own limit × the multiplier, plus a margin; never above the service's cap. */
function runTimeLimit(taskLimitSec: number | null, multiplier: number, capSec: number): number {
  return taskLimitSec === null ? capSec : Math.min(capSec, Math.ceil(taskLimitSec * multiplier + RUN_TIME_MARGIN_SEC))
}

/** Runs a task check, turning its rejection into the API's error. */
async function checkTask<T>(check: () => Promise<T>): Promise<T> {
  try {
    return await check()
  } catch (err) {
    if (err instanceof TaskArchiveError) throw new ApiError(httpStatusFor(err.code), err.code, err.message, 'file')
    throw err
  }
}

/** The task as the chosen harness runs it, or its refusal. */
async function prepareForHarness(deps: SubmitJobDeps, task: UploadedTask, input: SubmitJobInput) {
  try {
    return await checkTask(() => deps.prepareTask(task, input.form.harness, input.workDir))
  } catch (err) {
    if (err instanceof HarnessUnavailableError) throw new ApiError(503, 'harness_unavailable', err.message)
    throw err
  }
}

function unpackTask(deps: SubmitJobDeps, input: SubmitJobInput) {
  const { limits } = deps
  return checkTask(async () => {
    const archive = await extractArchive(input.archive.path, path.join(input.workDir, 'extract'), {
      maxEntries: limits.uploadEntries,
      maxUncompressedBytes: limits.uploadUncompressedBytes,
      maxCompressionRatio: limits.uploadCompressionRatio,
    })
    // A task zipped as its folder is named after the folder, else after the zip file.
    const fallbackName = archive.topLevelDir ?? path.basename(input.archive.filename).replace(/\.zip$/i, '')
    const detected = await detectTask(archive.root, { fallbackName })
    // Before anything reads the task's compose files (a conversion copies its build contexts).
    await checkTaskComposeFiles(archive.root, detected.format, { allow: deps.composeAllow })
    return { ...detected, root: archive.root }
  })
}
