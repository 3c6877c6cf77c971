/**
 * The service's configuration: read from the environment once, validated, frozen, passed down.
 *
 * No other module reads `process.env`. Every variable is documented in `.env.example`; an invalid
 * value fails start-up with an error that names the variable at fault.
 *
 * Each concern keeps its variables, its part of {@link Config} and how one becomes the other
 * together, in config/: `services.ts` (PostgreSQL, Temporal), `api.ts`, `hosts.ts` (HOSTS, SSH),
 * `harness.ts`, `limits.ts` (and the task sandbox policy), `observability.ts`; the few that belong
 * to no one concern are here.
 */
import path from 'node:path'
import { z } from 'zod'
import { apiConfig, apiEnv, type ApiConfig } from './config/api.js'
import { invalid } from './config/common.js'
import { harnessConfig, harnessEnv, type HarnessConfig } from './config/harness.js'
import { hostsConfig, hostsEnv, type HostsConfig } from './config/hosts.js'
import { limitsConfig, limitsEnv, type LimitsConfig, type TasksConfig } from './config/limits.js'
import { observabilityConfig, observabilityEnv, type ObservabilityConfig } from './config/observability.js'
import { servicesConfig, servicesEnv, type ServicesConfig } from './config/services.js'

export { parseHostName, parseOrigin, type HostName } from './config/api.js'
export { ConfigError } from './config/common.js'
export type { HostConfig } from './config/hosts.js'

/** Raw environment variables, with defaults. Keys are the variable names, so errors name them. */
const EnvSchema = z.object({
  DATA_DIR: z.string().min(1).default('.data'),
  ...servicesEnv,
  ...apiEnv,
  SECRETS_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
  ...hostsEnv,
  ...harnessEnv,
  ...limitsEnv,
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  FOLLOW_LIVE_UP_TO: z.coerce.number().int().min(0).max(100_000).default(200),
  ...observabilityEnv,
})

/** Every environment variable the service reads (deployment files are checked against this list). */
export const ENV_KEYS: readonly string[] = Object.freeze(Object.keys(EnvSchema.shape))

export interface Config extends ServicesConfig, HostsConfig {
  /** Absolute directory for everything the service keeps on disk. */
  readonly dataDir: string
  readonly api: ApiConfig
  /** Master key for secrets at rest; `null` means the embedded default keeps one in the data dir. */
  readonly secretsKey: Buffer | null
  /**
   * While a worker follows at most this many harnesses, it reads each one's files as they are
   * written; past it, only the runs someone watches live, and the others by polling.
   */
  readonly followLiveUpTo: number
  readonly harness: HarnessConfig
  readonly limits: LimitsConfig
  readonly tasks: TasksConfig
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  readonly observability: ObservabilityConfig
}

/** Parses `env` (by default `process.env`) into a frozen {@link Config}, or throws {@link ConfigError}. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  // Empty strings count as unset, as they do in most .env tooling.
  const raw = Object.fromEntries(
    Object.keys(EnvSchema.shape).flatMap((key) => {
      const value = env[key]
      return value === undefined || value === '' ? [] : [[key, value]]
    }),
  )
  const parsed = EnvSchema.safeParse(raw)
  if (!parsed.success) throw invalid(...parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`))
  const e = parsed.data
  const harness = harnessConfig(e, cwd)
  return deepFreeze({
    dataDir: path.resolve(cwd, e.DATA_DIR),
    ...servicesConfig(e),
    api: apiConfig(e),
    secretsKey: e.SECRETS_KEY ? Buffer.from(e.SECRETS_KEY, 'base64') : null,
    ...hostsConfig(e, cwd),
    followLiveUpTo: e.FOLLOW_LIVE_UP_TO,
    harness,
    ...limitsConfig(e),
    logLevel: e.LOG_LEVEL,
    observability: observabilityConfig(e),
  })
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
