/**
 * One run as one trial of a Harbor job folder: its `result.json` (`TrialResult`,
 * `harbor/models/trial/result.py`). Pure.
 *
 * A run is one trial: the one of its last attempt, as Harbor keeps one directory per trial and a
 * retry replaces it. The earlier attempts are no trials of their own; they are counted in the
 * job's `n_retries`, and kept in the run's artifacts.
 *
 * - A run whose last attempt left Harbor's own `TrialResult` keeps it, made to agree with the
 *   folder: its trial's name, URI, directory and job id, its task named by the job's task (the
 *   trial ran a copy of it named `task`), and the job's dataset as its `source`. Everything else
 *   is Harbor's, but for credentials (`redact.ts`).
 * - Any other run (Terminal-Bench's, or one whose harness left no result: lost, stopped when
 *   overdue, cancelled, never started) gets a result made from the run's own row: its rewards, its
 *   tokens and cost, its last attempt's phases, and its error as the trial's exception. The
 *   exception's type is Harbor's `CancelledError` for a cancelled run, else our error class
 *   (`InfraError`, `HarnessError`, `ProviderError`, `VerifierError`, `AgentError`), with a policy
 *   that says what our outcome says: an `error` run's rewards are not valid, an error beside a
 *   verdict leaves it valid. So Harbor counts the same runs as we do.
 */
import type { ErrorClass } from '../shared/status.js'
import { taskConfig, trialConfig, type Json } from './harbor-config.js'
import { recordedExceptions, type HarborExceptionInfo, type TrialForStats } from './harbor-stats.js'
import { datasetOf, isoOrNull, type ExportAttempt, type ExportJob, type ExportRun, type ExportTask } from './input.js'
import { redactSecrets } from './redact.js'

/** A `TrialResult` as JSON: what the stats read of it, its `config`, and the rest as it is. */
export interface HarborTrialResult extends TrialForStats {
  config: Json
  [key: string]: unknown
}

export interface TrialPlacement {
  trialName: string
  /** The job's folder. */
  trialsDir: string
  trialUri: string
}

/** Whether `result` is a Harbor `TrialResult` (a Terminal-Bench result is not). */
export function isHarborTrialResult(result: object | null): result is HarborTrialResult {
  if (result === null) return false
  const r = result as Record<string, unknown>
  return (
    typeof r['trial_name'] === 'string' &&
    typeof r['config'] === 'object' &&
    r['config'] !== null &&
    typeof (r['agent_info'] as Record<string, unknown> | null)?.['name'] === 'string'
  )
}

/** Harbor's own result of the run's last attempt, agreeing with the folder. */
export function keptTrialResult(
  stored: HarborTrialResult,
  job: ExportJob,
  task: ExportTask,
  at: TrialPlacement,
): HarborTrialResult {
  const result = redactSecrets(stored)
  const source = datasetOf(job) ?? (typeof result.source === 'string' ? result.source : null)
  const kept = {
    ...result,
    task_name: task.name,
    trial_name: at.trialName,
    trial_uri: at.trialUri,
    task_id: { path: task.name },
    source,
    config: {
      ...result.config,
      task: taskConfig(task, source),
      trial_name: at.trialName,
      trials_dir: at.trialsDir,
      job_id: job.id,
    },
  }
  return { ...kept, reward_valid: typeof stored.reward_valid === 'boolean' ? stored.reward_valid : rewardValid(kept) }
}

export interface MadeUpTrial {
  job: ExportJob
  task: ExportTask
  run: ExportRun
  attempt: ExportAttempt | null
  /** Who ran it, as Harbor records it (`AgentInfo`). */
  agentInfo: TrialForStats['agent_info'] & { version: string }
}

/** A result for a run whose harness left no Harbor result, from the run's row. */
export function madeUpTrialResult(t: MadeUpTrial, at: TrialPlacement): HarborTrialResult {
  const { run } = t
  const finishedAt = isoOrNull(run.finished_at ?? run.updated_at)
  const phases = t.attempt?.phases ?? null
  const usage = [run.n_input_tokens, run.n_cache_tokens, run.n_output_tokens, run.cost_usd]
  const rewards = run.rewards ?? (run.reward === null ? null : { reward: run.reward })
  const result = {
    schema_version: 1,
    id: run.id,
    task_name: t.task.name,
    trial_name: at.trialName,
    trial_uri: at.trialUri,
    task_id: { path: t.task.name },
    source: datasetOf(t.job),
    task_checksum: t.task.sha256,
    config: trialConfig(t.job, t.task, at),
    agent_info: t.agentInfo,
    agent_result: usage.every((v) => v === null)
      ? null
      : {
          n_input_tokens: run.n_input_tokens,
          n_cache_tokens: run.n_cache_tokens,
          n_output_tokens: run.n_output_tokens,
          cost_usd: run.cost_usd,
        },
    verifier_result: rewards ? { rewards } : null,
    exception_info: exceptionOf(run, finishedAt),
    started_at: isoOrNull(run.started_at),
    finished_at: finishedAt,
    environment_setup: phases?.environment_setup ?? null,
    agent_setup: phases?.agent_setup ?? null,
    agent_execution: phases?.agent_execution ?? null,
    verifier: phases?.verifier ?? null,
    step_results: null,
  }
  return { ...result, reward_valid: rewardValid(result) }
}

const EXCEPTION_TYPES: Record<ErrorClass, string> = {
  infra: 'InfraError',
  harness: 'HarnessError',
  provider: 'ProviderError',
  verifier: 'VerifierError',
  agent: 'AgentError',
}

/** The run's error as Harbor's `ExceptionInfo`, or null when it had none. */
function exceptionOf(run: ExportRun, occurredAt: string | null): HarborExceptionInfo | null {
  const at = { exception_traceback: '', occurred_at: occurredAt }
  if (run.status === 'cancelled')
    return { exception_type: 'CancelledError', exception_message: run.error_message ?? 'the run was cancelled', ...at }
  if (run.outcome === 'error') {
    return {
      exception_type: EXCEPTION_TYPES[run.error_class ?? 'harness'],
      exception_message: run.error_message ?? '',
      ...at,
      policy_override: { has_valid_reward: false },
    }
  }
  if (run.error_message === null) return null
  // An error beside a verdict: it leaves the verdict standing.
  return {
    exception_type: EXCEPTION_TYPES.agent,
    exception_message: run.error_message,
    ...at,
    policy_override: { has_valid_reward: true },
  }
}

/**
 * Harbor's `reward_valid`: there are rewards, and no recorded exception makes them meaningless (by
 * its own policy as recorded, its override, else Harbor's default for a type it does not know).
 */
export function rewardValid(trial: Omit<TrialForStats, 'reward_valid'>): boolean {
  const rewards = trial.verifier_result?.rewards
  if (!rewards || Object.keys(rewards).length === 0) return false
  return recordedExceptions({ ...trial, reward_valid: false }).every(
    (e) => e.policy?.has_valid_reward ?? e.policy_override?.has_valid_reward ?? true,
  )
}
