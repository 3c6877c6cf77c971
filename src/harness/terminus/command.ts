/**
 * The `tb run` command line for one attempt of one run with the Terminal-Bench 1 harness (docs/product.md,
 * "Harnesses"; checked against `tb run --help` and the source of PyPI `terminal-bench` 0.2.18). One
 * trial per invocation: a one-task dataset (`--dataset-path` + `--task-id`), one attempt, one
 * concurrent trial, a deterministic run id so a re-attached worker finds the same directory, no
 * livestream and no upload. `tb run` never prompts.
 *
 * What it writes, under `<outputPath>/<runId>/` (see test/fake-tb/README.md for the whole layout):
 * `run_metadata.json` and `tb.lock` at the start, `run.log` (grows), and `results.json` once the trial
 * ends; the trial's own directory `<taskId>/<taskId>.1-of-1.<runId>/` holds `results.json`,
 * `commands.txt`, `panes/`, `sessions/<name>.log|.cast` and `agent-logs/`.
 */
import path from 'node:path/posix'
import { dockerEnvironment, type HarnessEnvironmentBase } from '../environment.js'

/**
 * Task and run ids `tb` can use safely: `--task-id` is a glob pattern, and both ids end up in Docker
 * Compose project and container names (`<taskId>-1-of-1-<runId>`), which must be lowercase.
 */
export const TB_SAFE_ID = /^[a-z0-9][a-z0-9_-]{0,127}$/

export interface TbRunSpec {
  tbBin: string
  /** Absolute path of the directory holding the staged task, and nothing else (`--dataset-path`). */
  datasetPath: string
  /**
   * The staged task directory's name, which is the task's id for `tb` (`--task-id`). Must match
   * {@link TB_SAFE_ID}, and should differ between tasks of different content: TB names the task's
   * Docker image `tb__<taskId>__client`, so two tasks with one id on one host share an image.
   */
  taskId: string
  agent: string
  /** As handed to the harness, e.g. `openrouter/openai/gpt-4o`; `null` for agents without a model. */
  model: string | null
  /** Absolute path of the directory `tb` writes its run into (`--output-path`). */
  outputPath: string
  /** Must match {@link TB_SAFE_ID}; the run directory is `<outputPath>/<runId>`. */
  runId: string
  /** Scales the task's `max_agent_timeout_sec` and `max_test_timeout_sec` alike. */
  timeoutMultiplier: number
  /**
   * `--cleanup`: remove the task's images (`docker compose down --rmi all --volumes`) and prune the
   * build cache after the trial. Off by default: the image name is shared by every run of the task on
   * the host, so removing it under concurrent runs of the same task fails or forces rebuilds.
   */
  cleanup?: boolean
}

/**
 * The argv of `tb run` for one attempt. Throws when an id is not {@link TB_SAFE_ID} or the multiplier
 * is not a positive number: those would make `tb` match the wrong tasks or fail in Docker Compose.
 */
export function tbRunArgv(spec: TbRunSpec): string[] {
  for (const [name, value] of [
    ['taskId', spec.taskId],
    ['runId', spec.runId],
  ] as const) {
    if (!TB_SAFE_ID.test(value)) throw new Error(`${name} ${JSON.stringify(value)} is not a safe tb id`)
  }
  if (!(Number.isFinite(spec.timeoutMultiplier) && spec.timeoutMultiplier > 0)) {
    throw new Error(`timeoutMultiplier must be a positive number, got ${spec.timeoutMultiplier}`)
  }
  const argv = [spec.tbBin, 'run', '--dataset-path', spec.datasetPath, '--task-id', spec.taskId, '--agent', spec.agent]
  if (spec.model !== null) argv.push('--model', spec.model)
  argv.push(
    '--output-path',
    spec.outputPath,
    '--run-id',
    spec.runId,
    '--n-concurrent',
    '1',
    '--n-attempts',
    '1',
    '--global-timeout-multiplier',
    String(spec.timeoutMultiplier),
    '--no-livestream',
    '--no-upload-results',
    spec.cleanup ? '--cleanup' : '--no-cleanup',
    '--log-level',
    'info',
  )
  return argv
}

/**
 * The harness's whole environment for `tb`, apart from secrets (the caller adds `OPENROUTER_API_KEY`,
 * which LiteLLM reads for `openrouter/...` models, from the key file). Nothing of the worker's own
 * environment is passed on. Takes the same base as Harbor's `harnessEnvironment`; `pythonPath` is
 * where `--agent-import-path` agents would be imported from. TB has no telemetry to turn off.
 */
export function tbHarnessEnvironment(base: HarnessEnvironmentBase): Record<string, string> {
  return {
    PATH: base.path,
    ...(base.home ? { HOME: base.home } : {}),
    LANG: 'C.UTF-8',
    // Plain, parseable output: no colour, standard Python tracebacks instead of Rich panels.
    NO_COLOR: '1',
    TERM: 'dumb',
    COLUMNS: '200',
    _TYPER_STANDARD_TRACEBACK: '1',
    PYTHONUNBUFFERED: '1',
    // `tb` loads the first `.env` found walking up from its installed package: with the venv inside the
    // project, the project's own `.env` (database URL, master key) would land in the harness's
    // environment, and from there in Docker Compose's and the agents'.
    PYTHON_DOTENV_DISABLED: '1',
    // Otherwise importing LiteLLM fetches its price list from GitHub, retried for seconds offline.
    ...(base.localCostMap ? { LITELLM_LOCAL_MODEL_COST_MAP: 'True' } : {}),
    ...(base.pythonPath ? { PYTHONPATH: base.pythonPath } : {}),
    // LiteLLM's OpenRouter provider reads its base URL from here.
    ...(base.openRouterBaseUrl ? { OPENROUTER_API_BASE: base.openRouterBaseUrl } : {}),
    ...dockerEnvironment(base.docker ?? null),
  }
}

/**
 * Where one attempt keeps its pieces. The task is staged as `<root>/dataset/<taskId>` so that the
 * dataset directory holds exactly that one task.
 */
export function tbAttemptLayout(attemptDir: string, taskId: string, runId: string) {
  const dataset = path.join(attemptDir, 'dataset')
  const output = path.join(attemptDir, 'tb-runs')
  const runDir = path.join(output, runId)
  const trialDir = path.join(runDir, taskId, tbTrialName(taskId, runId))
  return {
    root: attemptDir,
    dataset,
    task: path.join(dataset, taskId),
    output,
    runDir,
    /** `BenchmarkResults`: rewritten after each trial; absent if the harness died before one ended. */
    results: path.join(runDir, 'results.json'),
    runLog: path.join(runDir, 'run.log'),
    trialDir,
    /** The trial's `TrialResults`; not written when the trial failed outside TB's own checks (Docker). */
    trialResults: path.join(trialDir, 'results.json'),
    proc: path.join(attemptDir, 'proc'),
  }
}
export type TbAttemptLayout = ReturnType<typeof tbAttemptLayout>

/** TB's name for the only trial of a run: `<taskId>.<attempt>-of-<n attempts>.<runId>`. */
export function tbTrialName(taskId: string, runId: string): string {
  return `${taskId}.1-of-1.${runId}`
}

/**
 * The files that grow while the trial runs, relative to the trial directory, besides the run's
 * `run.log` (every log line, DEBUG level): the tmux sessions' output (`sessions/agent.log`, then
 * `sessions/tests.log`; also recorded as `sessions/*.cast`) and every keystroke batch sent
 * (`commands.txt`). LLM agents add one `agent-logs/episode-<n>/` directory per model call
 * (`prompt.txt`, `response.json|txt`, `debug.json`). Never stream or keep `debug.json` as is: it is
 * LiteLLM's request log, whose `Authorization: Bearer <key>` header TB leaves in clear.
 */
export const TB_LIVE_TRIAL_FILES = ['sessions/agent.log', 'sessions/tests.log', 'commands.txt'] as const

/**
 * A task id for `tb` from the task's name and its content hash: lowercase, glob-free, and distinct for
 * tasks of different content (see {@link TbRunSpec.taskId}).
 */
export function tbTaskId(taskName: string, contentSha256: string): string {
  const base = taskName
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 48)
  const hash = contentSha256
    .toLowerCase()
    .replace(/[^0-9a-f]/g, '')
    .slice(0, 12)
  return `${base || 'task'}-${hash || '0'}`
}
