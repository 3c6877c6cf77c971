/**
 * The service's configuration: read from the environment once, validated, frozen, passed down.
 *
 * No other module reads `process.env`. Every variable is documented in `.env.example`; an invalid
 * value fails start-up with an error that names the variable at fault.
 */
import path from 'node:path'
import { z } from 'zod'

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v))

const port = z.coerce.number().int().min(1).max(65535)
const positiveInt = z.coerce.number().int().positive()
const bytes = z.coerce.number().int().positive()

/** Raw environment variables, with defaults. Keys are the variable names, so errors name them. */
const EnvSchema = z.object({
  DATA_DIR: z.string().min(1).default('.data'),

  DATABASE_URL: z.string().url().optional(),
  EMBEDDED_POSTGRES_PORT: port.default(54329),

  TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('harbor-runner'),
  TEMPORAL_BIN: z.string().min(1).optional(),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_UI_URL: z.string().url().optional(),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(8000),

  SECRETS_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),

  HOST_ID: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes')
    .default('local'),
  HOST_SLOTS: positiveInt.default(4),
  HOST_WORK_DIR: z.string().min(1).optional(),

  HARBOR_BIN: z.string().min(1).optional(),
  TB_BIN: z.string().min(1).optional(),
  HARNESS_PYTHONPATH: z.string().optional(),
  DEFAULT_ENVIRONMENT: z.string().min(1).default('docker'),
  HARNESS_LOCAL_COST_MAP: bool.default(true),
  OPENROUTER_BASE_URL: z.string().url().optional(),
  RUN_MAX_ATTEMPTS: positiveInt.max(20).default(3),
  // Below the harness activity's own 7-day fence in Temporal.
  RUN_TIME_LIMIT_MAX_SEC: positiveInt.max(6 * 24 * 3600).default(24 * 3600),

  UPLOAD_MAX_BYTES: bytes.default(100 * 1024 * 1024),
  UPLOAD_MAX_ENTRIES: positiveInt.default(5000),
  UPLOAD_MAX_UNCOMPRESSED_BYTES: bytes.default(1024 * 1024 * 1024),
  MAX_RUNS_PER_JOB: positiveInt.default(1000),

  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
  HOME: z.string().default('/tmp'),

  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  KEEP_HOST_FILES: bool.default(false),
})

export interface Config {
  /** Absolute directory for everything the service keeps on disk. */
  readonly dataDir: string
  readonly database: { readonly url: string | null; readonly embeddedPort: number }
  readonly temporal: {
    /** `null` means: start the embedded dev server. */
    readonly address: string | null
    readonly namespace: string
    readonly taskQueue: string
    readonly bin: string | null
    readonly devPort: number
    readonly uiPort: number
    readonly uiUrl: string | null
  }
  readonly api: { readonly host: string; readonly port: number }
  /** Master key for secrets at rest; `null` means the embedded default keeps one in the data dir. */
  readonly secretsKey: Buffer | null
  /** The execution host this process serves (the local machine for now). */
  readonly host: { readonly id: string; readonly slots: number; readonly workDir: string; readonly keepFiles: boolean }
  readonly harness: {
    /** `null` means `.venv/bin/harbor` of the project, then `harbor` from PATH. */
    readonly harborBin: string | null
    /** `null` means `.venv/bin/tb` of the project, then `tb` from PATH. */
    readonly tbBin: string | null
    readonly pythonPath: string | null
    /** PATH and HOME handed to the harness (it inherits nothing else from the worker). */
    readonly path: string
    readonly home: string
    readonly defaultEnvironment: string
    /** LiteLLM prices from its installed copy instead of fetching them from GitHub on every run. */
    readonly localCostMap: boolean
    /** Where agents reach OpenRouter (a proxy, a gateway); `null` for OpenRouter itself. */
    readonly openRouterBaseUrl: string | null
    readonly maxAttempts: number
    /** No harness run may take longer than this, whatever its task's timeouts say. */
    readonly runTimeLimitMaxSec: number
  }
  readonly limits: {
    readonly uploadBytes: number
    readonly uploadEntries: number
    readonly uploadUncompressedBytes: number
    readonly runsPerJob: number
  }
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
}

export class ConfigError extends Error {
  override name = 'ConfigError'
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
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`)
  }
  const e = parsed.data
  const dataDir = path.resolve(cwd, e.DATA_DIR)
  return deepFreeze({
    dataDir,
    database: { url: e.DATABASE_URL ?? null, embeddedPort: e.EMBEDDED_POSTGRES_PORT },
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? null,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      bin: e.TEMPORAL_BIN ?? null,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL ?? (e.TEMPORAL_ADDRESS ? null : `http://127.0.0.1:${e.TEMPORAL_UI_PORT}`),
    },
    api: { host: e.API_HOST, port: e.API_PORT },
    secretsKey: e.SECRETS_KEY ? Buffer.from(e.SECRETS_KEY, 'base64') : null,
    host: {
      id: e.HOST_ID,
      slots: e.HOST_SLOTS,
      workDir: path.resolve(cwd, e.HOST_WORK_DIR ?? path.join(e.DATA_DIR, 'work')),
      keepFiles: e.KEEP_HOST_FILES,
    },
    harness: {
      harborBin: e.HARBOR_BIN ? path.resolve(cwd, e.HARBOR_BIN) : null,
      tbBin: e.TB_BIN ? path.resolve(cwd, e.TB_BIN) : null,
      // The harness runs in another directory: relative entries are taken from here.
      pythonPath: e.HARNESS_PYTHONPATH
        ? e.HARNESS_PYTHONPATH.split(':').filter(Boolean).map((p) => path.resolve(cwd, p)).join(':')
        : null,
      path: e.PATH,
      home: e.HOME,
      defaultEnvironment: e.DEFAULT_ENVIRONMENT,
      localCostMap: e.HARNESS_LOCAL_COST_MAP,
      openRouterBaseUrl: e.OPENROUTER_BASE_URL ?? null,
      maxAttempts: e.RUN_MAX_ATTEMPTS,
      runTimeLimitMaxSec: e.RUN_TIME_LIMIT_MAX_SEC,
    },
    limits: {
      uploadBytes: e.UPLOAD_MAX_BYTES,
      uploadEntries: e.UPLOAD_MAX_ENTRIES,
      uploadUncompressedBytes: e.UPLOAD_MAX_UNCOMPRESSED_BYTES,
      runsPerJob: e.MAX_RUNS_PER_JOB,
    },
    logLevel: e.LOG_LEVEL,
  })
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
