/**
 * The `harbor run` command line for one attempt of one run (PRODUCT.md, "Harnesses"; checked against
 * `harbor run --help` of Harbor 0.26.0). One trial per invocation (`-k 1 -n 1`), a deterministic job
 * name so a re-attached worker finds the same directory, prompts auto-confirmed, progress display off.
 */
import path from 'node:path/posix'

export interface HarborRunSpec {
  harborBin: string
  /** Absolute path of the staged task on the host. */
  taskDir: string
  /** Absolute path of the directory Harbor writes its job into (`-o`). */
  jobsDir: string
  jobName: string
  agent: string
  /** As handed to the harness, e.g. `openrouter/openai/gpt-4o`. */
  model: string
  environment: string
  timeoutMultiplier: number
}

export const PHASE_PLUGIN = 'harbor_runner_hooks:PhaseEvents'
/** Where the phase plugin writes, in Harbor's job directory: one JSON object per line. */
export const PHASE_EVENTS_FILE = 'harbor-runner-events.jsonl'

/** The run's phase once a phase event has been seen (see harness-plugins/harbor_runner_hooks). */
export const PHASE_OF_EVENT: Record<string, string> = {
  trial_started: 'environment_setup',
  environment_started: 'environment_setup',
  agent_setup_started: 'agent_setup',
  agent_started: 'agent',
  agent_ended: 'agent',
  verification_started: 'verifier',
  trial_cancelled: 'cancelling',
  trial_ended: 'finishing',
}

export function harborRunArgv(spec: HarborRunSpec): string[] {
  const argv = [
    spec.harborBin,
    'run',
    '--path',
    spec.taskDir,
    '--agent',
    spec.agent,
    '--model',
    spec.model,
    '--n-attempts',
    '1',
    '--n-concurrent',
    '1',
    '--jobs-dir',
    spec.jobsDir,
    '--job-name',
    spec.jobName,
    '--env',
    spec.environment,
    '--timeout-multiplier',
    String(spec.timeoutMultiplier),
    // Our job plugin (harness-plugins/) reports each trial's phases as they happen.
    '--plugin',
    PHASE_PLUGIN,
    '--yes',
    '--quiet',
  ]
  // Since Harbor 0.26 the Docker environment copies the agent's and verifier's files out after each
  // phase unless asked to bind-mount them; bound, they grow on the host while the run goes on.
  if (spec.environment === 'docker') argv.push('--environment-kwarg', 'auto_mounting=true')
  return argv
}

/**
 * The harness's whole environment, apart from secrets: nothing of the worker's own environment
 * (which holds the database URL and the master key) is passed on.
 */
export function harnessEnvironment(base: {
  path: string
  /** `null` leaves HOME to the host (a remote user's own). */
  home: string | null
  pythonPath: string | null
  localCostMap: boolean
  openRouterBaseUrl: string | null
  /** A remote Docker daemon for the harness's containers. */
  docker?: { host: string; tlsVerify: boolean; certPath: string | null } | null
}): Record<string, string> {
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

/** DOCKER_HOST and its TLS settings, for a harness whose containers run on a remote daemon. */
export function dockerEnvironment(
  docker: { host: string; tlsVerify: boolean; certPath: string | null } | null,
): Record<string, string> {
  if (!docker) return {}
  return {
    DOCKER_HOST: docker.host,
    ...(docker.tlsVerify ? { DOCKER_TLS_VERIFY: '1' } : {}),
    ...(docker.certPath ? { DOCKER_CERT_PATH: docker.certPath } : {}),
  }
}
