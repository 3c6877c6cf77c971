/**
 * The service's configuration: read from the environment once, validated, frozen, passed down.
 *
 * No other module reads `process.env`. Every variable is documented in `.env.example`; an invalid
 * value fails start-up with an error that names the variable at fault.
 */
import path from 'node:path'
import { z } from 'zod'
import { ALLOWED_IMPORT_PATHS_VARIABLE, IMPORT_PATH } from './shared/import-paths.js'
import { COMPOSE_RULES, type ComposeRule } from './shared/compose-rules.js'
import type { HarnessCli } from './harness/harness.js'
import { harnessEntries, type HarnessName } from './harness/registry.js'

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v))

/** Each harness's CLI, named for every host by its variable (HARBOR_BIN, TB_BIN: see src/harness/registry.ts). */
const HARNESS_CLI_VARIABLES = Object.fromEntries(
  harnessEntries().map(([, h]) => [h.cli.variable, z.string().min(1).optional()]),
)
/** The same, named for one host by its HOSTS entry's field (harbor_bin, tb_bin). */
const HARNESS_CLI_HOST_FIELDS = Object.fromEntries(
  harnessEntries().map(([, h]) => [h.cli.hostField, z.string().min(1).optional()]),
)

const port = z.coerce.number().int().min(1).max(65535)
const positiveInt = z.coerce.number().int().positive()
const bytes = z.coerce.number().int().positive()

/** A comma-separated list of the task sandbox policy's rule names. */
const composeRules = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.enum(COMPOSE_RULES, {
        error: (issue) => `unknown rule ${JSON.stringify(issue.input)} (the rules: ${COMPOSE_RULES.join(', ')})`,
      }),
    ),
  )

/** Raw environment variables, with defaults. Keys are the variable names, so errors name them. */
const EnvSchema = z.object({
  DATA_DIR: z.string().min(1).default('.data'),

  DATABASE_URL: z.string().url().optional(),
  EMBEDDED_POSTGRES_PORT: port.default(54329),

  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'must be host:port')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('harbor-runner'),
  TEMPORAL_BIN: z.string().min(1).optional(),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_UI_URL: z.string().url().optional(),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(8000),
  API_ALLOWED_HOSTS: z
    .string()
    .refine(
      (v) => splitList(v).every((h) => parseHostName(h) !== null),
      'must be host names, each with an optional :port',
    )
    .optional(),
  API_ALLOWED_ORIGINS: z
    .string()
    .refine((v) => splitList(v).every((o) => parseOrigin(o) !== null), 'must be origins: http(s)://host[:port]')
    .optional(),

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
  HOSTS: z.string().optional(),
  WORKER_HOSTS: z.string().optional(),
  SSH_KNOWN_HOSTS: z.string().min(1).optional(),
  SSH_STRICT_HOST_KEYS: bool.default(false),

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

  UPLOAD_MAX_BYTES: bytes.default(100 * 1024 * 1024),
  UPLOAD_MAX_ENTRIES: positiveInt.default(5000),
  UPLOAD_MAX_UNCOMPRESSED_BYTES: bytes.default(1024 * 1024 * 1024),
  UPLOAD_MAX_COMPRESSION_RATIO: positiveInt.default(200),
  MAX_RUNS_PER_JOB: positiveInt.default(1000),
  MAX_ACTIVE_JOBS_PER_TOKEN: positiveInt.default(50),
  MAX_ACTIVE_RUNS_PER_TOKEN: positiveInt.default(5000),
  MAX_LOG_BYTES_PER_RUN: bytes.default(50 * 1024 * 1024),
  MAX_LOG_LINE_CHARS: positiveInt.default(16 * 1024),
  ARTIFACT_MAX_BYTES: bytes.default(256 * 1024 * 1024),
  ARTIFACT_MAX_FILES: positiveInt.default(10_000),
  MAX_REQUEST_BODY_BYTES: bytes.default(64 * 1024),
  TASK_COMPOSE_ALLOW: composeRules,
  MAX_STREAMS_PER_TOKEN: positiveInt.default(20),
  MAX_UPLOADS_PER_TOKEN: positiveInt.default(4),

  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
  HOME: z.string().default('/tmp'),

  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  KEEP_HOST_FILES: bool.default(false),
  FOLLOW_LIVE_UP_TO: z.coerce.number().int().min(0).max(100_000).default(200),

  METRICS_ENABLED: bool.default(true),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_METRICS_PORT: port.optional(),
  TEMPORAL_METRICS_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'must be host:port')
    .optional(),
})

/** Every environment variable the service reads (deployment files are checked against this list). */
export const ENV_KEYS: readonly string[] = Object.freeze(Object.keys(EnvSchema.shape))

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
  readonly api: {
    readonly host: string
    readonly port: number
    /**
     * The names requests may give in `Host`: the loopback names, API_HOST unless it is a wildcard,
     * and API_ALLOWED_HOSTS. Any other is refused (a DNS-rebinding page gives its own name).
     */
    readonly allowedHosts: readonly HostName[]
    /** Origins besides the API's own that may send changes (API_ALLOWED_ORIGINS), as `URL.origin`. */
    readonly allowedOrigins: readonly string[]
  }
  /** Master key for secrets at rest; `null` means the embedded default keeps one in the data dir. */
  readonly secretsKey: Buffer | null
  /** Every execution host the service may place runs on (as this process knows them). */
  readonly hosts: readonly HostConfig[]
  /** The ids of the hosts a worker process serves (WORKER_HOSTS; all of `hosts` by default). */
  readonly workerHosts: readonly string[]
  /** Keep attempt directories on hosts after runs (debugging). */
  readonly keepHostFiles: boolean
  /**
   * While a worker follows at most this many harnesses, it reads each one's files as they are
   * written; past it, only the runs someone watches live, and the others by polling.
   */
  readonly followLiveUpTo: number
  readonly ssh: {
    /** OpenSSH known_hosts file for SSH hosts' keys, shared with rsync. */
    readonly knownHostsFile: string
    /** Refuse hosts whose key is not recorded yet (instead of recording it on first use). */
    readonly strictHostKeys: boolean
  }
  readonly harness: {
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
  readonly limits: {
    readonly uploadBytes: number
    readonly uploadEntries: number
    readonly uploadUncompressedBytes: number
    /** Most times one entry (of 1 MiB or more) may expand its compressed size: past it, a zip bomb. */
    readonly uploadCompressionRatio: number
    readonly runsPerJob: number
    /** Jobs and runs not yet ended, per token. */
    readonly activeJobsPerToken: number
    readonly activeRunsPerToken: number
    /** Log kept per run; past it, a marker line and nothing more. */
    readonly logBytesPerRun: number
    /** Characters kept of one log line; past it, a marker. */
    readonly logLineChars: number
    /** What is collected of one attempt's output: bytes of files, and entries looked at (past it, a marker). */
    readonly artifactBytes: number
    readonly artifactFiles: number
    /** Request bodies of every route but the upload. */
    readonly requestBodyBytes: number
    /** Event streams open at once per token, and uploads under way, in each API process. */
    readonly streamsPerToken: number
    readonly uploadsPerToken: number
  }
  /** The task sandbox policy for the compose files tasks bring (docs/task-sandbox-policy.md). */
  readonly tasks: {
    /** Rules relaxed for this deployment (TASK_COMPOSE_ALLOW); empty, the default: every rule applies. */
    readonly composeAllow: readonly ComposeRule[]
  }
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** Prometheus metrics (README, "Observability"). */
  readonly observability: {
    /** The API serves `GET /metrics`. */
    readonly metricsEnabled: boolean
    /** When set, `/metrics` (API and worker) answers only `Authorization: Bearer <token>`. */
    readonly metricsToken: string | null
    /** The worker's own metrics server; `null` port: none. */
    readonly workerMetricsHost: string
    readonly workerMetricsPort: number | null
    /** `host:port` where the Temporal SDK serves its own metrics (worker processes); `null`: off. */
    readonly temporalMetricsAddress: string | null
  }
}

/** A name the API answers to in `Host`: on any port (`port` null), or on one. */
export interface HostName {
  /** Lowercase; an IPv6 address in brackets, as `Host` gives it. */
  readonly name: string
  readonly port: number | null
}

/** An execution host: the local machine, or one reached over SSH. */
export interface HostConfig {
  readonly id: string
  /** How many harness runs it takes at once. */
  readonly slots: number
  /** Absolute; on the host itself for SSH hosts. */
  readonly workDir: string
  readonly ssh: {
    readonly user: string
    readonly hostname: string
    readonly port: number
    readonly keyFile: string
  } | null
  /** A remote Docker daemon for the harness's containers (DOCKER_HOST and its TLS settings). */
  readonly docker: { readonly host: string; readonly tlsVerify: boolean; readonly certPath: string | null } | null
  /** The harness CLIs on that host as named (`harbor_bin`, …); the others are looked for (`.venv`/PATH locally, PATH over SSH). */
  readonly bins: Readonly<Partial<Record<HarnessName, string>>>
  /** Extra PYTHONPATH and PATH for the harness on that host. */
  readonly pythonPath: string | null
  readonly path: string | null
  /** The most attempts one trial runner takes there; `null` for RUNNER_MAX_ATTEMPTS. */
  readonly runnerMaxAttempts: number | null
}

const HOST_ID = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes')

const HostEntry = z
  .object({
    id: HOST_ID,
    slots: z.number().int().positive().max(10_000),
    work_dir: z.string().min(1).optional(),
    /** `user@hostname:port` (port 22 if omitted); without it the host is the local machine. */
    ssh: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]*@[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be user@hostname[:port]')
      .optional(),
    key_file: z.string().min(1).optional(),
    docker_host: z.string().min(1).optional(),
    docker_tls_verify: z.boolean().optional(),
    docker_cert_path: z.string().min(1).optional(),
    ...HARNESS_CLI_HOST_FIELDS,
    python_path: z.string().min(1).optional(),
    path: z.string().min(1).optional(),
    runner_max_attempts: z.number().int().positive().max(10_000).optional(),
  })
  .strict()
  .refine((h) => !h.ssh || (h.key_file && h.work_dir?.startsWith('/')), {
    message: 'an ssh host needs key_file and an absolute work_dir',
  })

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
    throw new ConfigError(
      `invalid configuration:\n  RUNNER_PRELOAD: ${unlisted.join(', ')} not in ${ALLOWED_IMPORT_PATHS_VARIABLE}`,
    )
  const dataDir = path.resolve(cwd, e.DATA_DIR)
  const hosts = e.HOSTS
    ? parseHosts(e.HOSTS, cwd)
    : [localHost(e.HOST_ID, e.HOST_SLOTS, path.resolve(cwd, e.HOST_WORK_DIR ?? path.join(e.DATA_DIR, 'work')))]
  const workerHosts = e.WORKER_HOSTS
    ? e.WORKER_HOSTS.split(',')
        .map((h) => h.trim())
        .filter(Boolean)
    : hosts.map((h) => h.id)
  const unknown = workerHosts.filter((id) => !hosts.some((h) => h.id === id))
  if (unknown.length > 0)
    throw new ConfigError(`invalid configuration:\n  WORKER_HOSTS: no host ${unknown.join(', ')} in HOSTS`)
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
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      allowedHosts: allowedHosts(e.API_HOST, e.API_ALLOWED_HOSTS),
      allowedOrigins: splitList(e.API_ALLOWED_ORIGINS ?? '').map((o) => parseOrigin(o)!),
    },
    secretsKey: e.SECRETS_KEY ? Buffer.from(e.SECRETS_KEY, 'base64') : null,
    hosts,
    workerHosts,
    keepHostFiles: e.KEEP_HOST_FILES,
    followLiveUpTo: e.FOLLOW_LIVE_UP_TO,
    ssh: {
      knownHostsFile: path.resolve(cwd, e.SSH_KNOWN_HOSTS ?? path.join(e.DATA_DIR, 'ssh', 'known_hosts')),
      strictHostKeys: e.SSH_STRICT_HOST_KEYS,
    },
    harness: {
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
    },
    limits: {
      uploadBytes: e.UPLOAD_MAX_BYTES,
      uploadEntries: e.UPLOAD_MAX_ENTRIES,
      uploadUncompressedBytes: e.UPLOAD_MAX_UNCOMPRESSED_BYTES,
      uploadCompressionRatio: e.UPLOAD_MAX_COMPRESSION_RATIO,
      runsPerJob: e.MAX_RUNS_PER_JOB,
      activeJobsPerToken: e.MAX_ACTIVE_JOBS_PER_TOKEN,
      activeRunsPerToken: e.MAX_ACTIVE_RUNS_PER_TOKEN,
      logBytesPerRun: e.MAX_LOG_BYTES_PER_RUN,
      logLineChars: e.MAX_LOG_LINE_CHARS,
      artifactBytes: e.ARTIFACT_MAX_BYTES,
      artifactFiles: e.ARTIFACT_MAX_FILES,
      requestBodyBytes: e.MAX_REQUEST_BODY_BYTES,
      streamsPerToken: e.MAX_STREAMS_PER_TOKEN,
      uploadsPerToken: e.MAX_UPLOADS_PER_TOKEN,
    },
    tasks: { composeAllow: [...new Set(e.TASK_COMPOSE_ALLOW)] },
    logLevel: e.LOG_LEVEL,
    observability: {
      metricsEnabled: e.METRICS_ENABLED,
      metricsToken: e.METRICS_TOKEN ?? null,
      workerMetricsHost: e.WORKER_METRICS_HOST,
      workerMetricsPort: e.WORKER_METRICS_PORT ?? null,
      temporalMetricsAddress: e.TEMPORAL_METRICS_ADDRESS ?? null,
    },
  })
}

/** A comma-separated list, its entries trimmed, empty ones dropped. */
function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']
/** API_HOST values that name no host: listening on every address. */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]'])

/** The loopback names, API_HOST unless a wildcard, and API_ALLOWED_HOSTS; each once. */
function allowedHosts(apiHost: string, extra: string | undefined): HostName[] {
  const own = WILDCARDS.has(apiHost)
    ? []
    : [apiHost.includes(':') && !apiHost.startsWith('[') ? `[${apiHost}]` : apiHost]
  const names = [...LOOPBACK_NAMES, ...own].flatMap((n) => parseHostName(n) ?? [])
  for (const entry of splitList(extra ?? '')) names.push(parseHostName(entry)!)
  return names.filter((h, i) => names.findIndex((o) => o.name === h.name && o.port === h.port) === i)
}

/** `name`, `name:port`, `[v6]` or `[v6]:port`, as a `Host` header gives them; null if not one. */
export function parseHostName(text: string): HostName | null {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)(?::(\d{1,5}))?$/.exec(text.toLowerCase())
  if (!match) return null
  const port = match[2] === undefined ? null : Number(match[2])
  if (port !== null && (port < 1 || port > 65535)) return null
  return { name: match[1]!, port }
}

/** `http(s)://host[:port]` and nothing more, as its `URL.origin`; null if not one. */
function parseOrigin(text: string): string | null {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return null
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
  // Nothing but scheme, host and port: no path, query, fragment or credentials.
  if (!/^https?:\/\/[^/?#@]+\/?$/i.test(text)) return null
  return url.origin
}

function localHost(id: string, slots: number, workDir: string): HostConfig {
  return {
    id,
    slots,
    workDir,
    ssh: null,
    docker: null,
    bins: {},
    pythonPath: null,
    path: null,
    runnerMaxAttempts: null,
  }
}

/** HOSTS: a JSON array of host entries (see .env.example). */
function parseHosts(text: string, cwd: string): HostConfig[] {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  HOSTS: not JSON (${(err as Error).message})`)
  }
  const parsed = z.array(HostEntry).min(1).safeParse(json)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `HOSTS.${i.path.join('.')}: ${i.message}`)
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`)
  }
  const ids = parsed.data.map((h) => h.id)
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i)
  if (duplicate) throw new ConfigError(`invalid configuration:\n  HOSTS: host id ${duplicate} appears twice`)
  return parsed.data.map((h) => {
    const ssh = h.ssh ? /^([^@]+)@(.+?)(?::(\d+))?$/.exec(h.ssh)! : null
    return {
      id: h.id,
      slots: h.slots,
      workDir: ssh ? h.work_dir! : path.resolve(cwd, h.work_dir ?? path.join('.data', 'work', h.id)),
      ssh: ssh
        ? { user: ssh[1]!, hostname: ssh[2]!, port: Number(ssh[3] ?? 22), keyFile: path.resolve(cwd, h.key_file!) }
        : null,
      docker: h.docker_host
        ? { host: h.docker_host, tlsVerify: h.docker_tls_verify ?? false, certPath: h.docker_cert_path ?? null }
        : null,
      bins: cliPaths(
        h,
        (cli) => cli.hostField,
        (p) => (ssh ? p : path.resolve(cwd, p)),
      ),
      pythonPath: h.python_path ?? null,
      path: h.path ?? null,
      runnerMaxAttempts: h.runner_max_attempts ?? null,
    }
  })
}

/** The harness CLIs `values` name, each under its `key`; `resolve` makes a path of each. */
function cliPaths(
  values: object,
  key: (cli: HarnessCli) => string,
  resolve: (named: string) => string,
): Partial<Record<HarnessName, string>> {
  const named = values as Record<string, unknown>
  return Object.fromEntries(
    harnessEntries().flatMap(([name, h]) => {
      const value = named[key(h.cli)]
      return typeof value === 'string' ? [[name, resolve(value)]] : []
    }),
  )
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
