/**
 * POST /api/upload: a zipped task and the run settings in, a job with N queued runs out.
 *
 * The archive is streamed to a private temporary directory, checked and unpacked by the safe
 * reader, its format detected and checked, and stored content-addressed. Only then are the job's
 * rows written (with the key sealed) and its workflow started. Any rejection is a 4xx with its own
 * code and leaves nothing behind: no row, no file, no workflow.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { Hono } from 'hono'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import { ApiError } from '../errors.js'
import { receiveMultipart } from '../upload/multipart.js'
import { UPLOAD_FIELDS, uploadFormParser } from '../upload/upload-form.js'
import { deleteJob, findJob, findJobByIdempotencyKey, insertJobWithRuns, OwnerLimitError } from '../../db/jobs.js'
import { removeTaskUnlessReferenced, withTaskReference } from '../../db/task-refs.js'
import { seal } from '../../secrets/sealed-box.js'
import { extractArchive } from '../../tasks/archive.js'
import { checkTaskComposeFiles } from '../../tasks/compose/files.js'
import { TaskArchiveError, httpStatusFor } from '../../tasks/errors.js'
import { detectTask } from '../../tasks/task-format.js'
import { toolEnvironment } from '../../tasks/harness-checks.js'
import { HarnessUnavailableError, type UploadedTask } from '../../harness/harness.js'
import { HARNESSES, type HarnessName } from '../../harness/registry.js'
import { computeTreeHash, removeStoredTask, storeTask } from '../../tasks/task-store.js'
import { jobView } from '../views.js'

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/

export function uploadRoutes(deps: AppDeps) {
  const { config, db } = deps
  const parseForm = uploadFormParser(
    config.limits.runsPerJob,
    config.harness.defaultEnvironment,
    config.harness.allowedImportPaths,
  )
  const app = new Hono<AppEnv>()

  const taskStore = path.join(config.dataDir, 'tasks')

  /**
   * Removes the stored task of a job that will not exist, unless a job references it. Whichever
   * upload stored it: under the task's lock no other upload is between storing it and committing its
   * job, so a task no job references is one no job needs.
   */
  async function releaseTask(sha256: string) {
    await removeTaskUnlessReferenced(db, sha256, () => removeStoredTask(taskStore, sha256))
  }

  const toolEnv = toolEnvironment({ path: config.harness.path, home: config.harness.home })

  /** The task as the chosen harness runs it (as it is, or converted), or its refusal. */
  async function prepareForHarness(task: UploadedTask, harness: HarnessName, workDir: string) {
    const bin = deps.harnessBins[harness] ?? null
    const tools = { bin, env: toolEnv, workDir, composeAllow: config.tasks.composeAllow }
    try {
      return await checkTask(() => HARNESSES[harness].prepareTask(task, tools))
    } catch (err) {
      if (err instanceof HarnessUnavailableError) throw new ApiError(503, 'harness_unavailable', err.message)
      throw err
    }
  }

  app.post('/upload', async (c) => {
    const idempotencyKey = c.req.header('Idempotency-Key') ?? null
    if (idempotencyKey !== null && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ApiError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 200 printable characters')
    }
    const declared = Number(c.req.header('content-length') ?? NaN)
    if (declared > config.limits.uploadBytes + 64 * 1024) {
      throw new ApiError(413, 'upload_too_large', `the upload exceeds the limit of ${config.limits.uploadBytes} bytes`)
    }

    const workDir = path.join(config.dataDir, 'uploads', randomUUID())
    await fs.mkdir(workDir, { recursive: true, mode: 0o700 })
    try {
      const received = await receiveMultipart(c.req.raw, {
        filePath: path.join(workDir, 'upload.zip'),
        fileField: 'file',
        maxFileBytes: config.limits.uploadBytes,
        allowedFields: UPLOAD_FIELDS,
        maxFieldChars: 4096,
      })
      const form = parseForm(received.fields)
      if (!received.file)
        throw new ApiError(400, 'missing_file', 'the task archive is missing: send it as the "file" field', 'file')
      if (received.file.bytes === 0) throw new ApiError(400, 'empty_file', 'the uploaded file is empty', 'file')

      if (idempotencyKey) {
        const existing = await findJobByIdempotencyKey(db, c.get('principal').tokenId, idempotencyKey)
        if (existing)
          return c.json(
            {
              ...jobView(existing, config.temporal.uiUrl, config.temporal.namespace),
              runs_queued: existing.n_runs,
              idempotent_replay: true,
            },
            200,
          )
      }

      const task = await unpackTask(received.file.path, path.join(workDir, 'extract'), received.file.filename, deps)
      const runnable = await prepareForHarness(task, form.harness, workDir)
      const checked = deps.taskChecker
        ? await checkTask(() => deps.taskChecker!.check(runnable.kind, runnable.root))
        : { timeLimitSec: null }
      const sha256 = await computeTreeHash(runnable.root)

      const jobId = randomUUID()
      let stored = false
      try {
        // The task stored and its job inserted under the task's lock, so no failing upload removes
        // the task in between.
        await withTaskReference(db, sha256, async (trx) => {
          await storeTask(taskStore, runnable.root, sha256)
          stored = true
          await insertJobWithRuns(
            trx,
            {
              job: {
                id: jobId,
                task_name: task.name,
                task_format: task.format,
                task_sha256: sha256,
                harness: form.harness,
                agent: form.agent,
                model: form.model,
                environment: form.environment,
                n_runs: form.n_runs,
                max_parallel: form.max_parallel,
                timeout_multiplier: form.timeout_multiplier,
                run_time_limit_sec: runTimeLimit(
                  checked.timeLimitSec,
                  form.timeout_multiplier,
                  config.harness.runTimeLimitMaxSec,
                ),
                idempotency_key: idempotencyKey,
                owner_token_id: c.get('principal').tokenId,
              },
              secret: form.openrouter_key ? seal(deps.masterKey, form.openrouter_key, jobId) : null,
            },
            randomUUID,
            { activeJobs: config.limits.activeJobsPerToken, activeRuns: config.limits.activeRunsPerToken },
          )
        })
      } catch (err) {
        if (stored) await releaseTask(sha256)
        if (err instanceof OwnerLimitError) throw new ApiError(429, `too_many_${err.limit}`, err.message)
        // Two requests with one Idempotency-Key raced: answer with the winner's job.
        const winner = idempotencyKey
          ? await findJobByIdempotencyKey(db, c.get('principal').tokenId, idempotencyKey)
          : undefined
        if (winner)
          return c.json(
            {
              ...jobView(winner, config.temporal.uiUrl, config.temporal.namespace),
              runs_queued: winner.n_runs,
              idempotent_replay: true,
            },
            200,
          )
        throw err
      }

      try {
        await deps.jobs.start({
          jobId,
          nRuns: form.n_runs,
          maxParallel: form.max_parallel,
          maxAttempts: config.harness.maxAttempts,
          label: { taskName: task.name, harness: form.harness, agent: form.agent, model: form.model },
        })
      } catch (err) {
        await deleteJob(db, jobId)
        await releaseTask(sha256)
        deps.logError(err)
        throw new ApiError(
          503,
          'orchestrator_unavailable',
          'the job could not be started: Temporal is not reachable; try again',
        )
      }

      const job = await findJob(db, jobId)
      return c.json(
        { ...jobView(job!, config.temporal.uiUrl, config.temporal.namespace), runs_queued: form.n_runs },
        201,
      )
    } catch (err) {
      // A full disk while the archive is unpacked or stored is the server's condition, not a bug:
      // a clear 507 (the finally below removes what was written).
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new ApiError(507, 'insufficient_storage', 'the server has no disk space left for this upload')
      }
      throw err
    } finally {
      await fs.rm(workDir, { recursive: true, force: true })
    }
  })

  return app
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

function unpackTask(zipPath: string, dest: string, filename: string, deps: AppDeps) {
  return checkTask(async () => {
    const archive = await extractArchive(zipPath, dest, {
      maxEntries: deps.config.limits.uploadEntries,
      maxUncompressedBytes: deps.config.limits.uploadUncompressedBytes,
      maxCompressionRatio: deps.config.limits.uploadCompressionRatio,
    })
    // A task zipped as its folder is named after the folder, else after the zip file.
    const fallbackName = archive.topLevelDir ?? path.basename(filename).replace(/\.zip$/i, '')
    const detected = await detectTask(archive.root, { fallbackName })
    // Before anything reads the task's compose files (a conversion copies its build contexts).
    await checkTaskComposeFiles(archive.root, detected.format, { allow: deps.config.tasks.composeAllow })
    return { ...detected, root: archive.root }
  })
}
