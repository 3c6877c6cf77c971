/**
 * Which runs of a job are trials of its Harbor folder, and what each is: its name, the attempt it
 * is, and its result and lock (see harbor-job.ts for the folder, harbor-trial.ts for a result).
 * Pure.
 */
import { agentConfig, trialLock, type Json } from './harbor-config.js'
import {
  isHarborTrialResult,
  keptTrialResult,
  madeUpTrialResult,
  type HarborTrialResult,
  type MadeUpTrial,
  type TrialPlacement,
} from './harbor-trial.js'
import { taskIndex, type ExportAttempt, type ExportJob, type ExportRun, type ExportTask } from './input.js'

/** The job, its tasks, every run, and the runs' attempts (each run's last at least). */
export interface TrialsInput {
  job: ExportJob
  tasks: readonly ExportTask[]
  runs: readonly ExportRun[]
  attempts: readonly ExportAttempt[]
}

export interface PlannedTrial {
  run: ExportRun
  attempt: ExportAttempt | null
  /** The trial's name as Harbor gave it, when Harbor left a result. */
  harborName: string | null
  result: HarborTrialResult
  lock: Json
}

export function trialsOf(input: TrialsInput, trialsDir: string, uriOf: (name: string) => string): PlannedTrial[] {
  const { job } = input
  const taskOf = taskIndex(input.tasks)
  const last = lastAttempts(input.attempts)
  const finished = [...input.runs]
    .filter((r) => r.status === 'completed' || r.status === 'cancelled')
    .sort((a, b) => a.task_index - b.task_index || a.run_number - b.run_number)
  const names = trialNames(finished.map((run) => ({ run, task: taskOf(run) })))
  const agentInfo = agentInfoOf(job, [...last.values()])
  const trials = finished.map((run): PlannedTrial => {
    checkUuid(`run ${run.run_number}`, run.id)
    const task = taskOf(run)
    const attempt = last.get(run.id) ?? null
    const trialName = names.get(run.id)!
    const at: TrialPlacement = { trialName, trialsDir, trialUri: uriOf(trialName) }
    const stored = attempt && isHarborTrialResult(attempt.result) ? attempt.result : null
    const made: MadeUpTrial = { job, task, run, attempt, agentInfo }
    const result = stored ? keptTrialResult(stored, job, task, at) : madeUpTrialResult(made, at)
    return {
      run,
      attempt,
      harborName: stored?.trial_name ?? null,
      result,
      lock: trialLock(task, result.config),
    }
  })
  return trials.sort((a, b) => (a.result.trial_name < b.result.trial_name ? -1 : 1))
}

/** Each run's last attempt, by run id. */
export function lastAttempts(attempts: readonly ExportAttempt[]): Map<string, ExportAttempt> {
  const last = new Map<string, ExportAttempt>()
  for (const a of attempts) if ((last.get(a.run_id)?.attempt ?? -1) < a.attempt) last.set(a.run_id, a)
  return last
}

/** Trial names by run id: `<task[:32]>__r<run, 6 digits>`, with the task's index should two of them meet. */
function trialNames(runs: readonly { run: ExportRun; task: ExportTask }[]): Map<string, string> {
  const names = new Map<string, string>()
  const taken = new Set<string>()
  for (const { run, task } of runs) {
    const prefix = task.name
      .split('/')
      .at(-1)!
      .slice(0, 32)
      .replace(/[_-]+$/, '')
    const number = String(run.run_number).padStart(6, '0')
    let name = `${prefix}__r${number}`
    if (taken.has(name)) name = `${prefix}__t${task.index}r${number}`
    taken.add(name)
    names.set(run.id, name)
  }
  return names
}

/**
 * Who ran the trials made up for runs without a Harbor result: as Harbor recorded it for the job's
 * other trials when there are any (so all group together in the job's evals), else from the job.
 */
function agentInfoOf(job: ExportJob, attempts: readonly ExportAttempt[]): MadeUpTrial['agentInfo'] {
  const recorded = attempts.map((a) => a.result).find(isHarborTrialResult)?.agent_info
  if (recorded) return recorded as MadeUpTrial['agentInfo']
  const model = agentConfig(job)['model_name'] as string | null
  const slash = model?.indexOf('/') ?? -1
  return {
    name: job.agent,
    version: 'unknown',
    model_info:
      model === null
        ? null
        : slash < 0
          ? { name: model }
          : { name: model.slice(slash + 1), provider: model.slice(0, slash) },
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function checkUuid(what: string, id: string): void {
  if (!UUID.test(id)) throw new Error(`${what}'s id ${JSON.stringify(id)} is not a UUID, which Harbor's ids are`)
}
