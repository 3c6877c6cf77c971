/**
 * The configurations of a Harbor job folder, as Harbor 0.26's models read them
 * (`harbor/models/job/config.py` `JobConfig`, `harbor/models/trial/config.py` `TrialConfig`,
 * `harbor/models/job/lock.py` `JobLock` and `TrialLock`), made from our job. Only what differs from
 * Harbor's defaults is written; Harbor fills in the rest when it reads them. Pure.
 *
 * A task is named by its name as a relative path (`TaskConfig.path`), as Harbor's viewer does for
 * a trial it knows only by name: the folder holds no task, and a path on our hosts would mean
 * nothing where the folder is opened. The tasks of a dataset's job name the dataset as their
 * `source`, as Harbor's trials of a dataset do (it keys the job's evals). A lock's task digest is our stored task's content hash
 * (paths, contents and executable bits), not Harbor's own hash of the task directory.
 */
import { harnessModel } from '../shared/ids.js'
import { isImportPath } from '../shared/import-paths.js'
import { datasetOf, type ExportJob, type ExportTask } from './input.js'

export type Json = Record<string, unknown>

/** `TaskConfig`: the task by its name, and the dataset it belongs to (Harbor's `source`). */
export function taskConfig(task: ExportTask, source: string | null): Json {
  return { path: task.name, git_url: null, git_commit_id: null, name: null, ref: null, source }
}

/** `AgentConfig` of the job's agent: a built-in name or an import path, and the model it was handed. */
export function agentConfig(job: ExportJob): Json {
  const byPath = isImportPath('agent', job.agent)
  return {
    name: byPath ? null : job.agent,
    import_path: byPath ? job.agent : null,
    model_name: job.agent_without_model ? null : harnessModel(job.model),
  }
}

/** `EnvironmentConfig`: an environment type, or an import path. */
export function environmentConfig(job: ExportJob): Json {
  const byPath = isImportPath('environment', job.environment)
  return { type: byPath ? null : job.environment, import_path: byPath ? job.environment : null }
}

/** `JobConfig` of the job: its agent, environment and tasks, runs per task as Harbor's attempts (`-k`). */
export function jobConfig(job: ExportJob, tasks: readonly ExportTask[], jobName: string, jobsDir: string): Json {
  return {
    schema_version: 1,
    job_name: jobName,
    jobs_dir: jobsDir,
    n_attempts: Math.max(1, job.runs_per_task),
    timeout_multiplier: job.timeout_multiplier,
    n_concurrent_trials: Math.max(1, job.max_parallel),
    environment: environmentConfig(job),
    agents: [agentConfig(job)],
    datasets: [],
    tasks: tasks.map((t) => taskConfig(t, datasetOf(job))),
  }
}

export interface TrialPlace {
  trialName: string
  /** The job's folder: Harbor's `trials_dir`. */
  trialsDir: string
}

/** `TrialConfig` of a run that left no Harbor trial of its own. */
export function trialConfig(job: ExportJob, task: ExportTask, place: TrialPlace): Json {
  return {
    schema_version: 1,
    task: taskConfig(task, datasetOf(job)),
    trial_name: place.trialName,
    trials_dir: place.trialsDir,
    timeout_multiplier: job.timeout_multiplier,
    agent: agentConfig(job),
    environment: environmentConfig(job),
    job_id: job.id,
  }
}

/** `TrialLock` of a trial, from its configuration. */
export function trialLock(task: ExportTask, config: Json): Json {
  return {
    schema_version: 2,
    task: { name: task.name, type: 'local', digest: `sha256:${task.sha256}`, path: task.name },
    timeout_multiplier: config['timeout_multiplier'] ?? 1,
    agent: config['agent'] ?? {},
    environment: config['environment'] ?? {},
    verifier: config['verifier'] ?? {},
    override_error_policy: config['override_error_policy'] ?? {},
  }
}

/** `JobLock` of the job: its trials' locks. No retries are Harbor's: ours are counted in the result. */
export function jobLock(job: ExportJob, trials: readonly Json[], createdAt: string): Json {
  return {
    schema_version: 3,
    created_at: createdAt,
    harbor: { version: null },
    n_concurrent_trials: Math.max(1, job.max_parallel),
    retry: { max_retries: 0 },
    trials,
  }
}
