/**
 * Activities that act on one execution host: stage the task, run the harness, collect its output,
 * clean up. They run on the host's own task queue, so every step of an attempt lands on the host
 * the attempt was placed on. All are idempotent.
 */
import { ApplicationFailure, heartbeat } from '@temporalio/activity'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { findRunWithJob, setRunStatus, storeAttemptResult } from '../db/runs.js'
import {
  outcomeFromTrialResult,
  outcomeWithoutTrialResult,
  parseTrialResultJson,
  UnreadableResultError,
} from '../harness/harbor-result.js'
import { testCountsFromCtrf } from '../harness/ctrf.js'
import { errorOutcome, type AttemptOutcome } from '../shared/outcome.js'
import { makeScrubber, type Scrubber } from '../secrets/scrub.js'
import { hostRunDir } from '../shared/ids.js'
import { loadJobKey, type HostActivityDeps } from './host-deps.js'
import { createRunHarness, layoutOf, type AttemptRef, type HarnessRun } from './run-harness.js'

export type { AttemptRef, HarnessRun } from './run-harness.js'

/** Text files above this size are not scrubbed of secrets but left out of the collected copy. */
const MAX_SCRUBBED_FILE_BYTES = 32 * 1024 * 1024

export function createHostActivities(deps: HostActivityDeps) {
  const { db, host } = deps

  return {
    /** Copies the job's stored task into the attempt's directory on the host. */
    async stageTask(ref: AttemptRef): Promise<void> {
      const found = await findRunWithJob(db, ref.jobId, ref.runNumber)
      if (!found) throw ApplicationFailure.nonRetryable(`run ${ref.runNumber} of job ${ref.jobId} does not exist`, 'RunNotFound')
      const source = path.join(deps.taskStoreDir, found.job.task_sha256)
      await fs.access(source).catch(() => {
        throw ApplicationFailure.nonRetryable(`stored task ${found.job.task_sha256} is missing`, 'TaskMissing')
      })
      const layout = layoutOf(ref)
      await host.putDirectory(source, layout.task)
    },

    runHarness: createRunHarness(deps),

    /**
     * Copies the attempt's harness output into the data dir (scrubbed of the job's key), keeps the
     * trial's result document, and says how the attempt came out.
     */
    async collectResults(input: AttemptRef & { harness: HarnessRun }): Promise<AttemptOutcome> {
      await setRunStatus(db, input.runId, 'collecting', input.attempt)
      const layout = layoutOf(input)
      const scrub = makeScrubber([await loadJobKey(deps, input.jobId)])
      const local = path.join(deps.artifactsDir, input.jobId, `run-${input.runNumber}`, `attempt-${input.attempt}`)
      await fs.rm(local, { recursive: true, force: true })
      await host.getDirectory(layout.jobs, path.join(local, 'jobs')).catch(ignoreMissing)
      for (const name of ['stdout', 'stderr']) {
        const data = await host.readFrom(`${layout.proc}/${name}`, 0, MAX_SCRUBBED_FILE_BYTES)
        if (data) await fs.writeFile(path.join(local, `harness.${name}.txt`), data)
      }
      await scrubTree(local, scrub)
      heartbeat()

      if (input.harness.state === 'lost') {
        return errorOutcome('infra', `the harness process on ${host.id} ended without an exit status (killed, or the host restarted)`)
      }
      const trial = await findTrial(path.join(local, 'jobs', path.basename(layout.jobDir)))
      if (!trial) {
        const read = (name: string) => fs.readFile(path.join(local, `harness.${name}.txt`), 'utf8').catch(() => '')
        const outcome = outcomeWithoutTrialResult(input.harness.exitCode, await read('stderr'), await read('stdout'))
        return { ...outcome, error_message: outcome.error_message && scrub(outcome.error_message) }
      }
      try {
        const parsed = parseTrialResultJson(trial.result)
        await storeAttemptResult(db, input.runId, input.attempt, JSON.parse(trial.result))
        const ctrf = await fs.readFile(path.join(trial.dir, 'verifier', 'ctrf.json'), 'utf8').catch(() => null)
        const outcome = outcomeFromTrialResult(parsed, ctrf === null ? null : testCountsFromCtrf(ctrf))
        return { ...outcome, error_message: outcome.error_message && scrub(outcome.error_message) }
      } catch (err) {
        if (err instanceof UnreadableResultError) return errorOutcome('harness', err.message)
        throw err
      }
    },

    /** Removes the attempt's files from the host (the whole run's, once the run is over). */
    async cleanupAttempt(input: { jobId: string; runNumber: number; attempt: number; runFinished: boolean }): Promise<void> {
      if (deps.keepHostFiles) return
      const ref = { ...input, runId: '' }
      await host.remove(input.runFinished ? hostRunDir(input.jobId, input.runNumber) : layoutOf(ref).root)
    },
  }
}

export type HostActivities = ReturnType<typeof createHostActivities>

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
}

/** The single trial of a Harbor job directory that has a `result.json`: its directory and that text. */
async function findTrial(jobDir: string): Promise<{ dir: string; result: string } | null> {
  const entries = await fs.readdir(jobDir, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (!entry.isDirectory()) continue
    const dir = path.join(jobDir, entry.name)
    const result = await fs.readFile(path.join(dir, 'result.json'), 'utf8').catch(() => null)
    if (result !== null) return { dir, result }
  }
  return null
}

/** Replaces secrets in every file below `dir`; drops files too large to check. */
async function scrubTree(dir: string, scrub: Scrubber): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    const { size } = await fs.stat(file)
    if (size > MAX_SCRUBBED_FILE_BYTES) {
      await fs.rm(file)
      continue
    }
    const text = await fs.readFile(file, 'latin1')
    const clean = scrub(text)
    if (clean !== text) await fs.writeFile(file, clean, 'latin1')
  }
}
