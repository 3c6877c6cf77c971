/**
 * Submitting a job: an uploaded archive (one task, or a dataset of several) and the run settings in,
 * a job of tasks × n_runs queued runs out.
 *
 * The archive is unpacked by the safe reader, its tasks found, and each detected and checked,
 * prepared for the chosen harness, checked by the harness's own rules, and stored content-addressed.
 * Only then are the job's rows written (with the key sealed) and its workflow started. Any rejection
 * is an `ApiError` with its own code, naming the task of a dataset it is about, and leaves nothing
 * behind: no row, no stored task, no workflow (the caller removes its working directory).
 * Everything it works over is handed in.
 */
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import type { Db } from '../../db/database.js'
import { deleteJob, findJob, findJobByIdempotencyKey, insertJobWithRuns, OwnerLimitError } from '../../db/jobs.js'
import type { JobRow } from '../../db/schema.js'
import { removeTaskUnlessReferenced, withTaskReferences } from '../../db/task-refs.js'
import { HarnessUnavailableError, type PreparedTask, type UploadedTask } from '../../harness/harness.js'
import type { HarnessName } from '../../harness/registry.js'
import { seal } from '../../secrets/sealed-box.js'
import type { TaskChecker } from '../../tasks/harness-checks.js'
import type { LimitsConfig, TasksConfig } from '../../config/limits.js'
import type { JobStarter } from '../deps.js'
import { ApiError } from '../errors.js'
import { maxParallelOf, type UploadForm } from './upload-form.js'
import { checkTask, unpackUpload, type UnpackDeps, type UnpackedTask } from './unpack.js'

/** The content-addressed task store. */
export interface TaskStoreOps {
  hash(root: string): Promise<string>
  store(root: string, sha256: string): Promise<void>
  remove(sha256: string): Promise<void>
}

export interface SubmitJobDeps {
  db: Db
  masterKey: Buffer
  limits: UnpackDeps['limits'] & Pick<LimitsConfig, 'activeJobsPerToken' | 'activeRunsPerToken'>
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

/** A task ready to store: where it is, what it is, and its own time limit if it states one. */
interface ReadyTask {
  name: string
  format: UploadedTask['format']
  root: string
  sha256: string
  timeLimitSec: number | null
}

export async function submitJob(deps: SubmitJobDeps, input: SubmitJobInput): Promise<SubmitJobResult> {
  const earlier = await findReplay(deps, input)
  if (earlier) return earlier
  const upload = await unpackUpload(deps, input)
  const ready: ReadyTask[] = []
  for (const [i, task] of upload.tasks.entries()) {
    ready.push(await readyTask(deps, input, task, path.join(input.workDir, `task-${i}`)))
  }
  const jobId = randomUUID()
  const winner = await storeAndInsert(deps, input, { jobId, name: upload.name, tasks: ready })
  if (winner) return winner
  await startOrUndo(deps, input.form, {
    jobId,
    name: upload.name,
    nTasks: ready.length,
    hashes: ready.map((t) => t.sha256),
  })
  const job = await findJob(deps.db, jobId)
  return { job: job!, replay: false }
}

/** One task prepared for the harness, checked by its rules and hashed; a refusal names a dataset's task. */
async function readyTask(
  deps: SubmitJobDeps,
  input: SubmitJobInput,
  task: UnpackedTask,
  workDir: string,
): Promise<ReadyTask> {
  const runnable = await prepareForHarness(deps, task, input.form.harness, workDir)
  const checked = deps.taskChecker
    ? await checkTask(task.label, () => deps.taskChecker!.check(runnable.kind, runnable.root))
    : { timeLimitSec: null }
  const sha256 = await deps.tasks.hash(runnable.root)
  return { name: task.name, format: task.format, root: runnable.root, sha256, timeLimitSec: checked.timeLimitSec }
}

/** The job an earlier request with this Idempotency-Key submitted, if any. */
async function findReplay(deps: SubmitJobDeps, input: SubmitJobInput): Promise<SubmitJobResult | null> {
  if (!input.idempotencyKey) return null
  const existing = await findJobByIdempotencyKey(deps.db, input.owner, input.idempotencyKey)
  return existing ? { job: existing, replay: true } : null
}

interface StoredJob {
  jobId: string
  name: string
  tasks: ReadyTask[]
}

/**
 * The tasks stored and their job inserted under the tasks' locks, so that no failing upload removes
 * a task in between. A refusal removes the tasks again (unless a job references them); a lost race
 * of two requests with one Idempotency-Key answers with the winner's job.
 */
async function storeAndInsert(deps: SubmitJobDeps, input: SubmitJobInput, stored: StoredJob) {
  const { db, limits } = deps
  const hashes = stored.tasks.map((t) => t.sha256)
  const written: string[] = []
  try {
    await withTaskReferences(db, hashes, async (trx) => {
      for (const task of stored.tasks) {
        if (written.includes(task.sha256)) continue
        await deps.tasks.store(task.root, task.sha256)
        written.push(task.sha256)
      }
      await insertJobWithRuns(trx, newJob(deps, input, stored), randomUUID, {
        activeJobs: limits.activeJobsPerToken,
        activeRuns: limits.activeRunsPerToken,
      })
    })
    return null
  } catch (err) {
    await releaseTasks(deps, written)
    if (err instanceof OwnerLimitError) throw new ApiError(429, `too_many_${err.limit}`, err.message)
    const winner = await findReplay(deps, input)
    if (winner) return winner
    throw err
  }
}

function newJob(deps: SubmitJobDeps, input: SubmitJobInput, stored: StoredJob) {
  const { form } = input
  return {
    job: {
      id: stored.jobId,
      task_name: stored.name,
      harness: form.harness,
      agent: form.agent,
      model: form.model,
      environment: form.environment,
      runs_per_task: form.n_runs,
      max_parallel: maxParallelOf(form, form.n_runs * stored.tasks.length),
      timeout_multiplier: form.timeout_multiplier,
      idempotency_key: input.idempotencyKey,
      owner_token_id: input.owner,
      source_job_id: null,
    },
    tasks: stored.tasks.map((t) => ({
      name: t.name,
      format: t.format,
      sha256: t.sha256,
      run_time_limit_sec: runTimeLimit(t.timeLimitSec, form.timeout_multiplier, deps.runTimeLimitMaxSec),
    })),
    secret: form.openrouter_key ? seal(deps.masterKey, form.openrouter_key, stored.jobId) : null,
  }
}

/** Starts the job's workflow; if the orchestrator cannot be reached, the job and its tasks are undone. */
async function startOrUndo(
  deps: SubmitJobDeps,
  form: UploadForm,
  job: { jobId: string; name: string; nTasks: number; hashes: string[] },
): Promise<void> {
  const nRuns = form.n_runs * job.nTasks
  try {
    await deps.jobs.start({
      jobId: job.jobId,
      nRuns,
      maxParallel: maxParallelOf(form, nRuns),
      maxAttempts: deps.maxAttempts,
      label: { taskName: job.name, harness: form.harness, agent: form.agent, model: form.model },
    })
  } catch (err) {
    await deleteJob(deps.db, job.jobId)
    await releaseTasks(deps, job.hashes)
    deps.logError(err)
    throw new ApiError(
      503,
      'orchestrator_unavailable',
      'the job could not be started: Temporal is not reachable; try again',
    )
  }
}

/**
 * Removes the stored tasks of a job that will not exist, unless a job references them. Whichever
 * upload stored one: under the task's lock no other upload is between storing it and committing its
 * job, so a task no job references is one no job needs.
 */
async function releaseTasks(deps: SubmitJobDeps, hashes: readonly string[]): Promise<void> {
  for (const sha256 of new Set(hashes)) {
    await removeTaskUnlessReferenced(deps.db, sha256, () => deps.tasks.remove(sha256))
  }
}

/** Margin over the task's own timeouts before a harness run is stopped from outside. */
const RUN_TIME_MARGIN_SEC = 300

/** The task's own limit × the multiplier, plus a margin; never above the service's cap. */
function runTimeLimit(taskLimitSec: number | null, multiplier: number, capSec: number): number {
  return taskLimitSec === null ? capSec : Math.min(capSec, Math.ceil(taskLimitSec * multiplier + RUN_TIME_MARGIN_SEC))
}

/** The task as the chosen harness runs it, or its refusal. */
async function prepareForHarness(deps: SubmitJobDeps, task: UnpackedTask, harness: HarnessName, workDir: string) {
  try {
    return await checkTask(task.label, () => deps.prepareTask(task, harness, workDir))
  } catch (err) {
    if (err instanceof HarnessUnavailableError) throw new ApiError(503, 'harness_unavailable', err.message)
    throw err
  }
}
