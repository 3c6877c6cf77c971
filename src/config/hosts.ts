/**
 * The execution hosts: one local host (HOST_ID, HOST_SLOTS, HOST_WORK_DIR) or the HOSTS list, the
 * ones a worker serves (WORKER_HOSTS), and the SSH hosts' known keys.
 */
import path from 'node:path'
import { z } from 'zod'
import type { HarnessName } from '../harness/registry.js'
import { bool, invalid, positiveInt, type EnvOf } from './common.js'
import { cliPaths, HARNESS_CLI_HOST_FIELDS } from './harness-clis.js'

export const hostsEnv = {
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
  KEEP_HOST_FILES: bool.default(false),
}

export interface HostsConfig {
  /** Every execution host the service may place runs on (as this process knows them). */
  readonly hosts: readonly HostConfig[]
  /** The ids of the hosts a worker process serves (WORKER_HOSTS; all of `hosts` by default). */
  readonly workerHosts: readonly string[]
  /** Keep attempt directories on hosts after runs (debugging). */
  readonly keepHostFiles: boolean
  readonly ssh: {
    /** OpenSSH known_hosts file for SSH hosts' keys, shared with rsync. */
    readonly knownHostsFile: string
    /** Refuse hosts whose key is not recorded yet (instead of recording it on first use). */
    readonly strictHostKeys: boolean
  }
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

export function hostsConfig(e: EnvOf<typeof hostsEnv> & { DATA_DIR: string }, cwd: string): HostsConfig {
  const hosts = e.HOSTS
    ? parseHosts(e.HOSTS, cwd)
    : [localHost(e.HOST_ID, e.HOST_SLOTS, path.resolve(cwd, e.HOST_WORK_DIR ?? path.join(e.DATA_DIR, 'work')))]
  const workerHosts = e.WORKER_HOSTS
    ? e.WORKER_HOSTS.split(',')
        .map((h) => h.trim())
        .filter(Boolean)
    : hosts.map((h) => h.id)
  const unknown = workerHosts.filter((id) => !hosts.some((h) => h.id === id))
  if (unknown.length > 0) throw invalid(`WORKER_HOSTS: no host ${unknown.join(', ')} in HOSTS`)
  return {
    hosts,
    workerHosts,
    keepHostFiles: e.KEEP_HOST_FILES,
    ssh: {
      knownHostsFile: path.resolve(cwd, e.SSH_KNOWN_HOSTS ?? path.join(e.DATA_DIR, 'ssh', 'known_hosts')),
      strictHostKeys: e.SSH_STRICT_HOST_KEYS,
    },
  }
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
    throw invalid(`HOSTS: not JSON (${(err as Error).message})`)
  }
  const parsed = z.array(HostEntry).min(1).safeParse(json)
  if (!parsed.success) throw invalid(...parsed.error.issues.map((i) => `HOSTS.${i.path.join('.')}: ${i.message}`))
  const ids = parsed.data.map((h) => h.id)
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i)
  if (duplicate) throw invalid(`HOSTS: host id ${duplicate} appears twice`)
  return parsed.data.map((h) => hostOf(h, cwd))
}

/** One HOSTS entry as a host: local paths taken from `cwd`, remote ones as given. */
function hostOf(h: z.output<typeof HostEntry>, cwd: string): HostConfig {
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
}
