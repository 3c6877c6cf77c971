/**
 * What the harnesses themselves put in a task's compose file, allowed in exactly these forms: the
 * mounts of their own log folders, whose host side is a variable the harness sets, and Harbor's build
 * context variable. Nothing broader: another variable, a default (`${VAR:-/}`) or a mode suffix is a
 * host mount like any other.
 */
import type { TaskFormat } from '../task-format.js'
import type { Mapping } from './scope.js'

type Mount = readonly [source: string, target: string]

const HARNESS_MOUNTS: Record<TaskFormat, readonly Mount[]> = {
  // Harbor sets HOST_*_PATH (the trial's folders on the host) and ENV_*_PATH (where they are mounted)
  // for tasks written against its earlier base compose file, which mounted them this way
  // (harbor/environments/docker/compose_env.py, legacy_log_mount_env_vars). Harbor now adds these
  // mounts itself, in a compose file of its own.
  harbor: [
    ['${HOST_VERIFIER_LOGS_PATH}', '${ENV_VERIFIER_LOGS_PATH}'],
    ['${HOST_AGENT_LOGS_PATH}', '${ENV_AGENT_LOGS_PATH}'],
    ['${HOST_ARTIFACTS_PATH}', '${ENV_ARTIFACTS_PATH}'],
  ],
  // Terminal-Bench's task template (terminal_bench/cli/template-task/docker-compose.yaml); its
  // DockerComposeManager sets the T_BENCH_* variables.
  'terminal-bench': [
    ['${T_BENCH_TASK_LOGS_PATH}', '${T_BENCH_CONTAINER_LOGS_PATH}'],
    ['${T_BENCH_TASK_AGENT_LOGS_PATH}', '${T_BENCH_CONTAINER_AGENT_LOGS_PATH}'],
  ],
}

/** Harbor's build context for the task's environment: the folder of the compose file itself. */
export const HARBOR_CONTEXT_DIR = '${CONTEXT_DIR}'

/** Every variable the allowed forms use: a `.env` beside the compose file may not set them. */
export const HARNESS_VARIABLES: ReadonlySet<string> = new Set(
  [HARBOR_CONTEXT_DIR, ...Object.values(HARNESS_MOUNTS).flat(2)].map((form) => form.slice(2, -1)),
)

/** `SOURCE:TARGET` exactly as the harness writes it. */
export function isHarnessShortMount(spec: string, format: TaskFormat): boolean {
  return HARNESS_MOUNTS[format].some(([source, target]) => spec === `${source}:${target}`)
}

const LONG_MOUNT_KEYS = new Set(['type', 'source', 'target', 'read_only'])

/** The same mount in long syntax: `type: bind`, that source and target, optionally read-only. */
export function isHarnessLongMount(mount: Mapping, format: TaskFormat): boolean {
  if (mount.type !== 'bind' || !Object.keys(mount).every((key) => LONG_MOUNT_KEYS.has(key))) return false
  if (mount.read_only !== undefined && typeof mount.read_only !== 'boolean') return false
  return HARNESS_MOUNTS[format].some(([source, target]) => mount.source === source && mount.target === target)
}
