/**
 * Everything the service knows of one harness, in one object. Each harness's folder builds its own
 * (harbor/index.ts, terminus/index.ts) and the registry (registry.ts) names them: the API (upload
 * fields, task preparation, the dashboard's choices), the configuration (which CLI to look for), the
 * host checks (doctor) and the runtime (drivers, warm runners) read them from there.
 */
import type { RunnerSpec } from '../runners/runner-pool.js'
import type { ComposeRule } from '../shared/compose-rules.js'
import type { TaskFormat } from '../tasks/task-format.js'
import type { HarnessDriver } from './driver.js'
import type { HarnessEnvironmentBase } from './environment.js'

export interface HarnessDefinition {
  /** How forms name it. */
  readonly label: string
  /** The agent of a job that names none. */
  readonly defaultAgent: string
  /** Agents that call no model: a job with one needs no key, and the harness is given no model. */
  readonly agentsWithoutModel: readonly string[]
  /** Whether a job's environment (an environment type, or one by import path) means anything to it. */
  readonly choosesEnvironment: boolean
  /** Whether it takes agents and environments by import path (`module.path:ClassName`). */
  readonly importPaths: boolean
  readonly cli: HarnessCli
  /** Prints, as JSON, what the installed harness offers ({@link HarnessOffer}), or `null` when it is not installed. */
  readonly catalogScript: string
  /** The task as this harness runs it: as uploaded, or converted; refuses a format it cannot run. */
  prepareTask(task: UploadedTask, tools: TaskTools): Promise<PreparedTask>
  /** Its whole environment on a host, apart from secrets (nothing of the worker's own is passed on). */
  environment(base: HarnessEnvironmentBase): Record<string, string>
  /** The host activities' driver for it, with its CLI at `bin` on the host. */
  driver(options: { bin: string; env: Record<string, string> }): HarnessDriver
  /** The host's warm runners, for a harness whose attempts run in them (at most one harness has them). */
  runners?(options: WarmRunnerOptions): RunnerSpec
}

/** Its command-line tool: looked for on each host, unless the operator names it. */
export interface HarnessCli {
  /** The command looked for in the project's `.venv/bin`, then on PATH (on PATH over SSH). */
  readonly command: string
  /** The environment variable that names it for every host, e.g. `HARBOR_BIN`. */
  readonly variable: string
  /** The field of a HOSTS entry that names it on that host, e.g. `harbor_bin`. */
  readonly hostField: string
  /** A command printing the installed version as its last line (run on the host, in the harness's environment). */
  versionArgv(bin: string): string[]
}

/** What a host's warm runners are made of (see harbor/runner.ts). */
export interface WarmRunnerOptions {
  /** The harness's CLI on the host. */
  bin: string
  /** The harness's environment there. */
  env: Record<string, string>
  /** Our Python packages, whose sources go into the runners' build. */
  pluginsDir: string
  slots: number
  maxAttemptsPerRunner: number
  /** What each runner imports once it is ready. */
  preload: readonly string[]
  idleExitSec: number
}

/** What the installed harness offers, for the dashboard's choices. */
export interface HarnessOffer {
  agents: string[]
  environments: string[]
}

/** An uploaded task, checked and unpacked. */
export interface UploadedTask {
  format: TaskFormat
  root: string
}

/** A task as the harness will run it; `kind` is the format the task checker checks it as. */
export interface PreparedTask {
  kind: TaskFormat
  root: string
}

/** What a task's preparation may use on the API's machine. */
export interface TaskTools {
  /** The harness's CLI here, or null when it is not installed here. */
  bin: string | null
  /** The environment its tools run with (tasks/harness-checks.ts, `toolEnvironment`). */
  env: Record<string, string>
  /** A private directory of this upload, removed after it. */
  workDir: string
  /** The sandbox policy's rules the operator relaxed (TASK_COMPOSE_ALLOW). */
  composeAllow: readonly ComposeRule[]
}

/** A task's preparation needs a tool that is not installed here (a 503: the service's fault, not the task's). */
export class HarnessUnavailableError extends Error {
  override name = 'HarnessUnavailableError'
}
