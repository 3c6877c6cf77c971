/**
 * Activities that act on one execution host: an attempt (stage the task, run the harness, collect
 * its output) and its clean-up. They run on the host's own task queue, so every step of an attempt
 * lands on the host the attempt was placed on. Both are idempotent. What differs between harnesses
 * is in their drivers (src/harness/driver.ts).
 *
 * An attempt is one activity rather than one per step: at hundreds of concurrent runs, each
 * activity's round trips through Temporal (and the workflow task after it) are what the
 * orchestration costs.
 */
import { ApplicationFailure } from '@temporalio/activity'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import pathPosix from 'node:path/posix'
import { setRunStatus, storeAttemptResult } from '../db/runs.js'
import { downComposeProjects } from '../hosts/compose.js'
import { makeScrubber } from '../secrets/scrub.js'
import { hostAttemptDir, hostRunDir } from '../shared/ids.js'
import { errorOutcome, type AttemptOutcome } from '../shared/outcome.js'
import { ACTIVITY_FAILURES } from '../outcomes/activity-failures.js'
import { overrunErrorClass, SERVICE_ERROR_CLASSES } from '../outcomes/retry.js'
import { outcomeLabels } from '../observability/metrics.js'
import { activityLogger } from './activity-log.js'
import { collectOutput, MAX_SCRUBBED_FILE_BYTES, scrubTree } from './collect-output.js'
import { loadJobKey, type HostActivityDeps } from './host-deps.js'
import { attemptContext, heartbeating, type AttemptContext, type AttemptRef, type HarnessRun } from './attempt.js'
import { createRunHarness } from './run-harness.js'

export type { AttemptRef, HarnessRun } from './attempt.js'

export function createHostActivities(deps: HostActivityDeps) {
  const { db, host, metrics } = deps

  /** Copies the job's stored task to where the attempt's harness expects it on the host. */
  async function stageTask({ task, paths }: AttemptContext): Promise<void> {
    const source = path.join(deps.taskStoreDir, task.sha256)
    await fs.access(source).catch(() => {
      throw ApplicationFailure.nonRetryable(`stored task ${task.sha256} is missing`, ACTIVITY_FAILURES.taskMissing)
    })
    await host.putDirectory(source, paths.task)
  }

  const runHarness = createRunHarness(deps, stageTask)

  /**
   * Copies the attempt's harness output into the data dir (collect-output.ts: safely, within
   * limits, scrubbed of the job's key), keeps the harness's result document, and says how the
   * attempt came out.
   */
  async function collectResults(input: AttemptRef & { harness: HarnessRun }): Promise<AttemptOutcome> {
    const { job, task, driver, paths } = await attemptContext(deps, input)
    const log = activityLogger(deps.logger, 'collectResults', input).child({ harness: job.harness })
    // The attempt's outcome, counted and logged (error messages are scrubbed by now). A retried
    // collection counts it again: rare enough for metrics, which are approximate anyway.
    const judged = (outcome: AttemptOutcome): AttemptOutcome => {
      const labels = { harness: job.harness, ...outcomeLabels(outcome) }
      metrics?.attempts.inc(labels)
      const { startedAtMs, finishedAtMs } = input.harness
      if (startedAtMs !== null && finishedAtMs !== null)
        metrics?.harnessDuration.observe(labels, (finishedAtMs - startedAtMs) / 1000)
      log.info('attempt judged', {
        outcome: outcome.outcome,
        error_class: outcome.error_class,
        exception_type: outcome.exception_type,
        reward: outcome.reward,
        error_message: outcome.error_message?.slice(0, 500) ?? null,
      })
      return outcome
    }
    await setRunStatus(db, input.runId, 'collecting', input.attempt)
    const scrub = makeScrubber([await loadJobKey(deps, input.jobId)])
    const local = path.join(deps.artifactsDir, input.jobId, `run-${input.runNumber}`, `attempt-${input.attempt}`)
    await fs.rm(local, { recursive: true, force: true })
    const localOutput = path.join(local, pathPosix.basename(paths.output))
    await fs.mkdir(local, { recursive: true })
    const target = { db, host, runId: input.runId, attempt: input.attempt, scrub, limits: deps.artifactLimits }
    await collectOutput(target, paths.output, local, localOutput)
    const exit = { exitCode: input.harness.exitCode, stdout: '', stderr: '' }
    for (const name of ['stdout', 'stderr'] as const) {
      const data = await host.readFrom(pathPosix.join(paths.proc, name), 0, MAX_SCRUBBED_FILE_BYTES)
      if (!data) continue
      await fs.writeFile(path.join(local, `harness.${name}.txt`), data)
      exit[name] = scrub(data.toString('utf8'))
    }
    await scrubTree(local, scrub)

    if (input.harness.state === 'lost') {
      return judged(
        errorOutcome(
          SERVICE_ERROR_CLASSES.lost,
          `the harness on ${host.id} ended without an exit status (its process or its runner was killed, or the host restarted)`,
        ),
      )
    }
    if (input.harness.overdue) {
      const { phase } = input.harness.overdue
      return judged(
        errorOutcome(
          overrunErrorClass(phase),
          `the run went past its time limit of ${task.run_time_limit_sec} s (the task's timeouts × ${job.timeout_multiplier}, ` +
            `plus a margin, at most RUN_TIME_LIMIT_MAX_SEC) during ${phase ?? 'an unknown phase'}, and was stopped`,
        ),
      )
    }
    const { outcome, result } = await driver.readOutcome(localOutput, paths, exit)
    if (result) await storeAttemptResult(db, input.runId, input.attempt, JSON.parse(scrub(JSON.stringify(result))))
    return judged({ ...outcome, error_message: outcome.error_message && scrub(outcome.error_message) })
  }

  return {
    /**
     * One attempt on this host: the task staged and the harness started (unless it already was),
     * followed to its end, and its output collected and judged. Retried, it re-attaches to the
     * harness it started, or collects again what it left.
     */
    async runAttempt(ref: AttemptRef): Promise<{ outcome: AttemptOutcome; harness: HarnessRun }> {
      const harness = await runHarness(ref)
      return { outcome: await heartbeating(() => collectResults({ ...ref, harness })), harness }
    },

    /**
     * Removes the attempt's files from the host (and, once the run is over, those its earlier
     * attempts left), with the containers of a harness that was killed before it could stop them.
     * Never an attempt after this one: a retry of the run may already be staging its own there.
     */
    async cleanupAttempt(input: {
      jobId: string
      runNumber: number
      attempt: number
      runFinished: boolean
    }): Promise<void> {
      const log = activityLogger(deps.logger, 'cleanupAttempt', input)
      if (deps.keepHostFiles) return log.debug('host files kept (KEEP_HOST_FILES)')
      log.debug('removing host files', { whole_run: input.runFinished })
      const attemptDir = hostAttemptDir(input.jobId, input.runNumber, input.attempt)
      await downComposeProjects(host, attemptDir)
      if (!input.runFinished) return host.remove(attemptDir)
      for (let attempt = 1; attempt <= input.attempt; attempt++) {
        await host.remove(hostAttemptDir(input.jobId, input.runNumber, attempt))
      }
      await host.removeIfEmpty(hostRunDir(input.jobId, input.runNumber))
      // The job's directory goes with its last run on this host (rmdir leaves it while others remain).
      await host.removeIfEmpty(pathPosix.dirname(hostRunDir(input.jobId, input.runNumber)))
    },
  }
}

export type HostActivities = ReturnType<typeof createHostActivities>
