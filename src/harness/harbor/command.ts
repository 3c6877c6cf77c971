/**
 * One attempt of one run as a Harbor trial in the host's warm runner
 * (harness-plugins/harbor_trial_runner): the choices `harbor run -k 1 -n 1` takes as flags (checked
 * against Harbor 0.26.0), a deterministic job name so a re-attached worker finds the same
 * directory, and our phase events recorded as they happen.
 */
import path from 'node:path/posix'
import { dockerEnvironment, type HarnessEnvironmentBase } from '../environment.js'

export interface HarborTrialSpec {
  /** Absolute paths on the host. */
  procDir: string
  taskDir: string
  /** The directory the trial's job goes into (`-o`). */
  jobsDir: string
  jobName: string
  agent: string
  /** As handed to the harness, e.g. `openrouter/openai/gpt-4o`. */
  model: string
  environment: string
  timeoutMultiplier: number
}

/** What the runner's `start` takes as its attempt (harbor_trial_runner/attempt.py, `AttemptSpec`). */
export interface TrialAttemptRequest {
  proc: string
  task: string
  jobs_dir: string
  job_name: string
  agent: string
  model: string | null
  environment: string
  environment_kwargs: Record<string, unknown>
  timeout_multiplier: number
}

/** Where the phase recorder writes, in Harbor's job directory: one JSON object per line. */
export const PHASE_EVENTS_FILE = 'harbor-runner-events.jsonl'

export function harborTrialRequest(spec: HarborTrialSpec): TrialAttemptRequest {
  return {
    proc: spec.procDir,
    task: spec.taskDir,
    jobs_dir: spec.jobsDir,
    job_name: spec.jobName,
    agent: spec.agent,
    model: spec.model,
    environment: spec.environment,
    // Since Harbor 0.26 the Docker environment copies the agent's and verifier's files out after
    // each phase unless asked to bind-mount them; bound, they grow on the host while the run goes on.
    environment_kwargs: spec.environment === 'docker' ? { auto_mounting: true } : {},
    timeout_multiplier: spec.timeoutMultiplier,
  }
}

/**
 * The harness's whole environment, apart from secrets: nothing of the worker's own environment
 * (which holds the database URL and the master key) is passed on.
 */
export function harnessEnvironment(base: HarnessEnvironmentBase): Record<string, string> {
  return {
    PATH: base.path,
    ...(base.home ? { HOME: base.home } : {}),
    LANG: 'C.UTF-8',
    // Telemetry off, plain and parseable output.
    HARBOR_TELEMETRY: '0',
    NO_COLOR: '1',
    TERM: 'dumb',
    COLUMNS: '200',
    _TYPER_STANDARD_TRACEBACK: '1',
    PYTHONUNBUFFERED: '1',
    ...(base.pythonPath ? { PYTHONPATH: base.pythonPath } : {}),
    // Otherwise every run starts by fetching LiteLLM's price list from GitHub (retried for seconds
    // where that is unreachable); the installed copy prices the same models.
    ...(base.localCostMap ? { LITELLM_LOCAL_MODEL_COST_MAP: 'True' } : {}),
    // LiteLLM's OpenRouter provider reads its base URL from here.
    ...(base.openRouterBaseUrl ? { OPENROUTER_API_BASE: base.openRouterBaseUrl } : {}),
    ...dockerEnvironment(base.docker ?? null),
  }
}

/** Where one attempt keeps its pieces, relative to the host's work dir. */
export function attemptLayout(attemptDir: string, jobName: string) {
  const jobDir = path.join(attemptDir, 'jobs', jobName)
  return {
    root: attemptDir,
    task: path.join(attemptDir, 'task'),
    jobs: path.join(attemptDir, 'jobs'),
    jobDir,
    proc: path.join(attemptDir, 'proc'),
  }
}
export type AttemptLayout = ReturnType<typeof attemptLayout>
