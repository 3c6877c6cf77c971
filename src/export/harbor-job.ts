/**
 * A job as a Harbor job folder, which Harbor's own tools open (`harbor view <jobs dir>`): the plan
 * of its files, then written into a directory or streamed as a zip (plan.ts, zip.ts).
 *
 * ```
 * <job id>/config.json   JobConfig: the agent, environment and tasks (harbor-config.ts)
 *          lock.json     JobLock: each trial's lock
 *          result.json   JobResult: stats and evals as Harbor computes them (harbor-stats.ts)
 *          <task[:32]>__r<run number, 6 digits>/   one trial per finished run (harbor-trial.ts)
 *              result.json, config.json, lock.json
 *              agent/, verifier/, trial.log, … as collected (harbor-files.ts)
 * ```
 *
 * Runs not finished yet are no trials: they count as Harbor's running (staging, running,
 * collecting) or pending (queued) trials, and the job's `finished_at` stays null while it runs.
 * Trial names are Harbor's shape (`<task>__<7 characters>`, the task's name cut at 32 as Harbor
 * cuts it) with the run number for the seven, so the viewer lists a task's runs in order (run
 * numbers are the job's, so no two trials meet; were two runs to share one, the task's index
 * would tell them apart).
 * Job and run ids are UUIDs, as Harbor's ids are (the database's are).
 *
 * Paths inside the JSON files (`jobs_dir`, `trials_dir`, `trial_uri`) name where the folder is when
 * it is written to a known directory; in a zip, whose place is not known, they are relative to the
 * directory it is unpacked in.
 */
import path from 'node:path'
import type { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { artifactAttemptDir, harnessJobName } from '../shared/ids.js'
import { isTerminalJobStatus } from '../shared/status.js'
import { jobConfig, jobLock, type Json } from './harbor-config.js'
import { listFiles, trialFiles } from './harbor-files.js'
import { jobStats } from './harbor-stats.js'
import type { HarborTrialResult } from './harbor-trial.js'
import { checkUuid, lastAttempts, trialsOf, type PlannedTrial, type TrialsInput } from './harbor-trials.js'
import { isoOrNull, type ExportJob } from './input.js'
import { writePlan, type PlanEntry } from './plan.js'
import { zipPlan } from './zip.js'

/** The job, its tasks, every run, and the runs' attempts (each run's last at least: a run's trial is its last attempt's). */
export type HarborJobInput = TrialsInput

/** The files collected of the runs' attempts. */
export interface CollectedFiles {
  /** The data dir's `artifacts/`. */
  artifactsDir: string
  /** Each attempt's files, relative to its directory, by its `artifactAttemptDir`; none if absent. */
  files: ReadonlyMap<string, readonly string[]>
}

export interface HarborJobPlan {
  /** The job's folder, the first part of every entry's path. */
  jobName: string
  entries: PlanEntry[]
}

/**
 * The plan of the job's folder. `jobsDir`, when given, is the absolute directory the folder will
 * be written into.
 */
export function planHarborJob(input: HarborJobInput, collected: CollectedFiles, jobsDir?: string): HarborJobPlan {
  const { job } = input
  checkUuid('job', job.id)
  const jobName = job.id
  const where = jobsDir ? { jobsDir, trialsDir: path.join(jobsDir, jobName) } : { jobsDir: '.', trialsDir: jobName }
  const trials = trialsOf(input, where.trialsDir, (name) =>
    jobsDir ? pathToFileURL(path.join(where.trialsDir, name)).href : `${jobName}/${name}`,
  )
  const locks = trials.map((t) => t.lock)
  const results = trials.map((t) => t.result)
  const entries: PlanEntry[] = [
    { path: `${jobName}/config.json`, json: jobConfig(job, input.tasks, jobName, where.jobsDir) },
    { path: `${jobName}/lock.json`, json: jobLock(job, locks, jobStartedAt(job)) },
    { path: `${jobName}/result.json`, json: jobResult(input, results) },
  ]
  for (const trial of trials)
    entries.push(...trialEntries(`${jobName}/${trial.result.trial_name}`, trial, job.id, collected))
  return { jobName, entries }
}

/** {@link planHarborJob}, with the files collected of each run's last attempt listed from `artifactsDir`. */
export async function buildHarborJobPlan(
  input: HarborJobInput,
  options: { artifactsDir: string; jobsDir?: string },
): Promise<HarborJobPlan> {
  const runs = new Map(input.runs.map((r) => [r.id, r]))
  const files = new Map<string, string[]>()
  for (const attempt of lastAttempts(input.attempts).values()) {
    const run = runs.get(attempt.run_id)
    if (!run) continue
    const dir = artifactAttemptDir(input.job.id, run.run_number, attempt.attempt)
    files.set(dir, await listFiles(path.join(options.artifactsDir, dir)))
  }
  return planHarborJob(input, { artifactsDir: options.artifactsDir, files }, options.jobsDir)
}

/** Writes the job's folder into `jobsDir` (absolute; it may exist, the folder must not); returns the folder. */
export async function writeHarborJob(
  input: HarborJobInput,
  options: { artifactsDir: string; jobsDir: string },
): Promise<string> {
  const plan = await buildHarborJobPlan(input, options)
  await writePlan(plan.entries, options.jobsDir)
  return path.join(options.jobsDir, plan.jobName)
}

/** The job's folder as a zip stream (unpacked, a jobs dir holding the folder). */
export async function zipHarborJob(input: HarborJobInput, options: { artifactsDir: string }): Promise<Readable> {
  return zipPlan((await buildHarborJobPlan(input, options)).entries)
}

/** A trial's result, config and lock, and the files collected of its attempt. */
function trialEntries(dir: string, trial: PlannedTrial, jobId: string, collected: CollectedFiles): PlanEntry[] {
  const entries: PlanEntry[] = [
    { path: `${dir}/result.json`, json: trial.result },
    { path: `${dir}/config.json`, json: trial.result.config },
    { path: `${dir}/lock.json`, json: trial.lock },
  ]
  if (!trial.attempt) return entries
  const { run_number: runNumber } = trial.run
  const attemptDir = artifactAttemptDir(jobId, runNumber, trial.attempt.attempt)
  const harborJob = harnessJobName(jobId, runNumber, trial.attempt.attempt)
  for (const file of trialFiles(collected.files.get(attemptDir) ?? [], harborJob, trial.harborName)) {
    const sourceFile = path.join(collected.artifactsDir, attemptDir, file.from)
    entries.push({ path: `${dir}/${file.path}`, sourceFile })
  }
  return entries
}

function jobResult(input: HarborJobInput, trials: readonly HarborTrialResult[]): Json {
  const { job, runs } = input
  const active = ['staging', 'running', 'collecting']
  const stats = jobStats(trials, {
    n_total_trials: runs.length,
    n_running_trials: runs.filter((r) => active.includes(r.status)).length,
    n_retries: runs.reduce((n, r) => n + Math.max(0, r.attempts - 1), 0),
  })
  const updated = [job.finished_at, ...runs.map((r) => r.updated_at)]
    .map(isoOrNull)
    .filter((t): t is string => t !== null)
    .sort()
    .at(-1)
  return {
    schema_version: 1,
    id: job.id,
    started_at: jobStartedAt(job),
    updated_at: updated ?? jobStartedAt(job),
    finished_at: isTerminalJobStatus(job.status) ? isoOrNull(job.finished_at ?? updated ?? null) : null,
    n_total_trials: runs.length,
    stats,
  }
}

function jobStartedAt(job: ExportJob): string {
  return isoOrNull(job.started_at ?? job.created_at)!
}
