/**
 * The rules of the task sandbox policy: what a task's own Compose file may not do, because it would
 * let the task reach the Docker host (src/tasks/compose/, docs/task-sandbox-policy.md). Each rule has
 * a stable name, shown in the upload's error; an operator may relax rules by name with
 * TASK_COMPOSE_ALLOW (read in src/config.ts). Pure: shared by the config and the policy.
 */

export const COMPOSE_RULES = [
  /** `privileged: true` on a service, its build or its hooks; build `entitlements`. */
  'privileged',
  /** `cap_add`: any added Linux capability. */
  'cap_add',
  /** `devices`, `device_cgroup_rules`: host devices. */
  'devices',
  /** `gpus`, `deploy.resources.reservations.devices`. */
  'gpus',
  /** `pid: host`, `pid: container:…` (a service of the same file is fine). */
  'host_pid',
  /** `ipc: host`, `ipc: container:…`. */
  'host_ipc',
  /** `uts`. */
  'host_uts',
  /** `userns_mode`. */
  'host_userns',
  /** `cgroup: host`, `cgroup_parent`. */
  'host_cgroup',
  /** `network_mode: host` or `container:…`, build `network: host`, networks with drivers, options or subnets. */
  'host_network',
  /** Bind mounts (short and long syntax), named pipes, volumes from other containers, volume drivers and options. */
  'host_mounts',
  /** The Docker (or containerd) socket in any mount, `use_api_socket`. */
  'docker_socket',
  /** `external` or `name` on volumes, networks, secrets, configs; `external_links`. */
  'external_resources',
  /** Paths that leave the compose file's folder: build context and Dockerfile, `env_file`, `label_file`, secret and config files. */
  'outside_paths',
  /** Other compose files: top-level `include`, `extends.file`. */
  'include',
  /** Build options that read or write the host: `additional_contexts`, `ssh`, `cache_from`, `cache_to`. */
  'build_host_access',
  /** `security_opt` (but `no-new-privileges`), `credential_spec`. */
  'security_opt',
  /** `sysctls`. */
  'sysctls',
  /** `extra_hosts` on a service or its build. */
  'extra_hosts',
  /** `runtime` other than `runc`. */
  'runtime',
  /** `oom_kill_disable: true`, a negative `oom_score_adj`. */
  'oom',
  /** A `logging` driver other than `json-file`, `local` or `none` (the daemon sends the logs from the host). */
  'logging',
  /** `ports`: container ports published on the host. */
  'ports',
  /** `provider` services and `models`: work done by programs on the host. */
  'provider',
  /** A key this policy does not know (newer Compose keys are refused until they are reviewed). */
  'unknown_keys',
  /** A `.env` beside the compose file that sets a variable of the harness's own mounts or build context. */
  'harness_variables',
] as const

export type ComposeRule = (typeof COMPOSE_RULES)[number]
