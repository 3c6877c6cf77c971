/**
 * The harness on the hosts: its CLIs and environment, the agents and environments uploads may name
 * by import path, the warm runners, and an attempt's retries and time limit.
 */
import path from 'node:path'
import { z } from 'zod'
import { ALLOWED_IMPORT_PATHS_VARIABLE, IMPORT_PATH } from '../shared/import-paths.js'
import type { HarnessName } from '../harness/registry.js'
import { bool, invalid, positiveInt, splitList, type EnvOf } from './common.js'
import { cliPaths, HARNESS_CLI_VARIABLES } from './harness-clis.js'

export const harnessEnv = {
  ...HARNESS_CLI_VARIABLES,
  HARNESS_PYTHONPATH: z.string().optional(),
  DEFAULT_ENVIRONMENT: z.string().min(1).default('docker'),
  ALLOWED_IMPORT_PATHS: z
    .string()
    .default('')
    .superRefine((v, ctx) => {
      for (const entry of splitList(v).filter((s) => !IMPORT_PATH.test(s)))
        ctx.addIssue({ code: 'custom', message: `${entry} is not module.path:ClassName (entries are comma-separated)` })
    }),
  HARNESS_LOCAL_COST_MAP: bool.default(true),
  OPENROUTER_BASE_URL: z.string().url().optional(),
  RUNNER_MAX_ATTEMPTS: positiveInt.max(10_000).default(250),
  RUNNER_PRELOAD: z.string().default('terminus-2'),
  RUNNER_IDLE_EXIT_SEC: positiveInt.default(900),
  RUN_MAX_ATTEMPTS: positiveInt.max(20).default(3),
  // Below the harness activity's own 7-day fence in Temporal.
  RUN_TIME_LIMIT_MAX_SEC: positiveInt.max(6 * 24 * 3600).default(24 * 3600),
  // Handed on to the harness, which inherits nothing else.
  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
  HOME: z.string().default('/tmp'),
}

export interface HarnessConfig {
  /** Each harness's CLI as named (HARBOR_BIN, …); one not named is the project's `.venv/bin/<command>`, then PATH's. */
  readonly bins: Readonly<Partial<Record<HarnessName, string>>>
  readonly pythonPath: string | null
  /** PATH and HOME handed to the harness (it inherits nothing else from the worker). */
  readonly path: string
  readonly home: string
  readonly defaultEnvironment: string
  /**
   * The agents and environments an upload may name by import path (`module.path:ClassName`):
   * ALLOWED_IMPORT_PATHS, and DEFAULT_ENVIRONMENT when it is one. Built-in names need no entry.
   */
  readonly allowedImportPaths: readonly string[]
  /** LiteLLM prices from its installed copy instead of fetching them from GitHub on every run. */
  readonly localCostMap: boolean
  /** Where agents reach OpenRouter (a proxy, a gateway); `null` for OpenRouter itself. */
  readonly openRouterBaseUrl: string | null
  /** Warm Harbor: the most attempts one trial runner takes (a host keeps slots / this runners). */
  readonly runnerMaxAttempts: number
  /** Agents, environment types or modules each runner imports ahead of its first attempt. */
  readonly runnerPreload: readonly string[]
  /** A runner that has run nothing and heard from no worker this long exits. */
  readonly runnerIdleExitSec: number
  readonly maxAttempts: number
  /** No harness run may take longer than this, whatever its task's timeouts say. */
  readonly runTimeLimitMaxSec: number
}

export function harnessConfig(e: EnvOf<typeof harnessEnv>, cwd: string): HarnessConfig {
  const allowedImportPaths = [
    ...new Set([
      ...splitList(e.ALLOWED_IMPORT_PATHS),
      ...(e.DEFAULT_ENVIRONMENT.includes(':') ? [e.DEFAULT_ENVIRONMENT] : []),
    ]),
  ]
  const runnerPreload = splitList(e.RUNNER_PRELOAD).filter((s) => s !== 'none')
  // A runner imports what it preloads: an import path there must be one the service allows.
  const unlisted = runnerPreload.filter((s) => s.includes(':') && !allowedImportPaths.includes(s))
  if (unlisted.length > 0)
    throw invalid(`RUNNER_PRELOAD: ${unlisted.join(', ')} not in ${ALLOWED_IMPORT_PATHS_VARIABLE}`)
  return {
    bins: cliPaths(
      e,
      (cli) => cli.variable,
      (p) => path.resolve(cwd, p),
    ),
    // The harness runs in another directory: relative entries are taken from here.
    pythonPath: e.HARNESS_PYTHONPATH
      ? e.HARNESS_PYTHONPATH.split(':')
          .filter(Boolean)
          .map((p) => path.resolve(cwd, p))
          .join(':')
      : null,
    path: e.PATH,
    home: e.HOME,
    defaultEnvironment: e.DEFAULT_ENVIRONMENT,
    allowedImportPaths,
    localCostMap: e.HARNESS_LOCAL_COST_MAP,
    openRouterBaseUrl: e.OPENROUTER_BASE_URL ?? null,
    runnerMaxAttempts: e.RUNNER_MAX_ATTEMPTS,
    runnerPreload,
    runnerIdleExitSec: e.RUNNER_IDLE_EXIT_SEC,
    maxAttempts: e.RUN_MAX_ATTEMPTS,
    runTimeLimitMaxSec: e.RUN_TIME_LIMIT_MAX_SEC,
  }
}
