/**
 * POST /api/upload: a zipped task and the run settings in, a job with N queued runs out.
 *
 * The route reads the request (the Idempotency-Key, the declared size, the multipart body streamed
 * to a private temporary directory, the form), hands it to `submitJob` (upload/submit-job.ts), and
 * answers with the job. Any rejection is a 4xx with its own code and leaves nothing behind: no row,
 * no file, no workflow.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { Hono } from 'hono'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import { ApiError } from '../errors.js'
import { idempotencyKeyOf } from '../params.js'
import { receiveMultipart } from '../upload/multipart.js'
import { submitJob, type SubmitJobDeps } from '../upload/submit-job.js'
import { UPLOAD_FIELDS, uploadFormParser } from '../upload/upload-form.js'
import { toolEnvironment } from '../../tasks/harness-checks.js'
import { HARNESSES } from '../../harness/registry.js'
import { computeTreeHash, removeStoredTask, storeTask } from '../../tasks/task-store.js'
import { listJobTasks } from '../../db/jobs.js'
import { jobView, taskView } from '../views.js'

export function uploadRoutes(deps: AppDeps) {
  const { config } = deps
  const parseForm = uploadFormParser(
    config.limits.runsPerJob,
    config.harness.defaultEnvironment,
    config.harness.allowedImportPaths,
  )
  const submit = submitJobDeps(deps)
  const app = new Hono<AppEnv>()

  app.post('/upload', async (c) => {
    const idempotencyKey = idempotencyKeyOf(c)
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

      const { job, replay } = await submitJob(submit, {
        archive: { path: received.file.path, filename: received.file.filename },
        workDir,
        form,
        owner: c.get('principal').tokenId,
        idempotencyKey,
      })
      const tasks = await listJobTasks(deps.db, job.id)
      const view = {
        ...jobView(job, config.temporal.uiUrl, config.temporal.namespace),
        tasks: tasks.map(taskView),
        runs_queued: job.n_runs,
      }
      return replay ? c.json({ ...view, idempotent_replay: true }, 200) : c.json(view, 201)
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

/** What submitting a job works over, from the API's dependencies. */
function submitJobDeps(deps: AppDeps): SubmitJobDeps {
  const { config } = deps
  const taskStore = path.join(config.dataDir, 'tasks')
  const toolEnv = toolEnvironment({ path: config.harness.path, home: config.harness.home })
  return {
    db: deps.db,
    masterKey: deps.masterKey,
    limits: config.limits,
    composeAllow: config.tasks.composeAllow,
    runTimeLimitMaxSec: config.harness.runTimeLimitMaxSec,
    maxAttempts: config.harness.maxAttempts,
    prepareTask: (task, harness, workDir) =>
      HARNESSES[harness].prepareTask(task, {
        bin: deps.harnessBins[harness] ?? null,
        env: toolEnv,
        workDir,
        composeAllow: config.tasks.composeAllow,
      }),
    taskChecker: deps.taskChecker,
    tasks: {
      hash: (root) => computeTreeHash(root),
      store: async (root, sha256) => {
        await storeTask(taskStore, root, sha256)
      },
      remove: async (sha256) => {
        await removeStoredTask(taskStore, sha256)
      },
    },
    jobs: deps.jobs,
    logError: (err) => deps.logError(err),
  }
}
