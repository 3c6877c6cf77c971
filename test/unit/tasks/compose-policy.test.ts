/**
 * The task sandbox policy on compose files' text: every rule (short and long syntax where both
 * exist), what stays allowed (the harnesses' own mounts read from the installed Harbor and
 * Terminal-Bench, named volumes, tmpfs, builds inside the task), both task formats, relaxation, and
 * files that are not Compose files at all.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../../src/paths.js'
import { COMPOSE_RULES, type ComposeRule } from '../../../src/shared/compose-rules.js'
import { TaskArchiveError } from '../../../src/tasks/errors.js'
import { checkComposeFile, composeViolations, describeViolation } from '../../../src/tasks/compose/policy.js'
import type { TaskFormat } from '../../../src/tasks/task-format.js'

const FILE = 'environment/docker-compose.yaml'

function violations(text: string, format: TaskFormat = 'harbor', dotenv: string | null = null) {
  return composeViolations({ path: FILE, text, format, dotenv })
}

/** The rules a compose file breaks, each once, sorted. */
function rules(text: string, format: TaskFormat = 'harbor', dotenv: string | null = null): ComposeRule[] {
  return [...new Set(violations(text, format, dotenv).map((v) => v.rule))].sort()
}

/** A file with one service `main` made of these YAML lines (indented under it). */
function service(...lines: string[]): string {
  return `services:\n  main:\n${lines.map((l) => `    ${l}`).join('\n')}\n`
}

function invalidReason(text: string): string {
  try {
    violations(text)
  } catch (err) {
    expect(err).toBeInstanceOf(TaskArchiveError)
    expect((err as TaskArchiveError).code).toBe('invalid_task_file')
    return (err as Error).message
  }
  throw new Error(`accepted as a compose file: ${text}`)
}

/** The installed harnesses' own files, read at test time so that an upgrade is checked too. */
const SITE_PACKAGES = (() => {
  const lib = path.join(PROJECT_ROOT, '.venv', 'lib')
  const python = readdirSync(lib).find((name) => /^python3\.\d+$/.test(name))
  return path.join(lib, python!, 'site-packages')
})()
const installed = (file: string) => readFileSync(path.join(SITE_PACKAGES, file), 'utf8')

describe('what the harnesses themselves write passes', () => {
  it("Harbor's base compose files (all but its egress sidecar's, which is Harbor's own, never a task's)", () => {
    const dir = 'harbor/environments/docker'
    const files = readdirSync(path.join(SITE_PACKAGES, dir)).filter((f) => f.endsWith('.yaml'))
    expect(files).toContain('docker-compose-build.yaml')
    for (const file of files.filter((f) => !f.includes('egress'))) {
      expect(violations(installed(`${dir}/${file}`)), file).toEqual([])
    }
  })

  it("Terminal-Bench's task template", () => {
    const template = installed('terminal_bench/cli/template-task/docker-compose.yaml')
    expect(template).toContain('${T_BENCH_TASK_LOGS_PATH}:${T_BENCH_CONTAINER_LOGS_PATH}')
    expect(violations(template, 'terminal-bench')).toEqual([])
  })

  it("the log mounts Harbor keeps variables for, short and long, in Harbor's format only", () => {
    const source = installed('harbor/environments/docker/compose_env.py')
    const names = [...source.matchAll(/"\w+": "(\w+)",/g)].map((m) => m[1]!)
    expect(names).toEqual(['VERIFIER_LOGS', 'AGENT_LOGS', 'ARTIFACTS'])
    for (const name of names) {
      const short = `\${HOST_${name}_PATH}:\${ENV_${name}_PATH}`
      const long = `{type: bind, source: "\${HOST_${name}_PATH}", target: "\${ENV_${name}_PATH}", read_only: false}`
      expect(violations(service('volumes:', `  - "${short}"`, `  - ${long}`))).toEqual([])
      expect(rules(service('volumes:', `  - "${short}"`), 'terminal-bench')).toEqual(['host_mounts'])
    }
  })

  it("Terminal-Bench's log mounts (as Harbor's converter knows them too), in Terminal-Bench's format only", () => {
    const mapper = installed('harbor/mappers/terminal_bench.py')
    const mounts = [...mapper.matchAll(/"(\$\{T_BENCH_TASK_\w+\}:\$\{T_BENCH_CONTAINER_\w+\})"/g)].map((m) => m[1]!)
    expect(mounts).toHaveLength(2)
    for (const mount of mounts) {
      expect(violations(service('volumes:', `  - "${mount}"`), 'terminal-bench')).toEqual([])
      expect(rules(service('volumes:', `  - "${mount}"`), 'harbor')).toEqual(['host_mounts'])
    }
  })

  it('what harbor task migrate writes for a converted task (its HARBOR_MAIN_SERVICE, in mappers/terminal_bench.py)', () => {
    const converted = service(
      'build: {context: "${CONTEXT_DIR}"}',
      'image: "${MAIN_IMAGE_NAME}"',
      'command: ["sh", "-c", "sleep infinity"]',
      'environment: ["TEST_DIR=${TEST_DIR}"]',
      'deploy: {resources: {limits: {cpus: "${CPUS}", memory: "${MEMORY}"}}}',
    )
    expect(violations(converted)).toEqual([])
    // ${CONTEXT_DIR} is Harbor's: a Terminal-Bench file has no such variable.
    expect(rules(converted, 'terminal-bench')).toEqual(['outside_paths'])
  })

  it('nothing broader than those exact forms', () => {
    for (const spec of [
      '${HOST_AGENT_LOGS_PATH}:${ENV_AGENT_LOGS_PATH}:rw',
      '${HOST_AGENT_LOGS_PATH:-/}:${ENV_AGENT_LOGS_PATH}',
      '${HOST_AGENT_LOGS_PATH}:${ENV_VERIFIER_LOGS_PATH}',
      '${HOST_AGENT_LOGS_PATH}/..:/up',
      '${CONTEXT_DIR}:/task',
      '$HOST_AGENT_LOGS_PATH:$ENV_AGENT_LOGS_PATH',
    ]) {
      expect(rules(service('volumes:', `  - "${spec}"`)), spec).toEqual(['host_mounts'])
    }
    const longWithMore =
      '{type: bind, source: "${HOST_AGENT_LOGS_PATH}", target: "${ENV_AGENT_LOGS_PATH}", bind: {propagation: rshared}}'
    expect(rules(service('volumes:', `  - ${longWithMore}`))).toEqual(['host_mounts'])
    expect(rules(service('build: {context: "${CONTEXT_DIR}/.."}'))).toEqual(['outside_paths'])
  })
})

describe('what real tasks use stays allowed', () => {
  it('images, builds inside the folder, environment, named volumes, tmpfs, sidecars on their own network', () => {
    const text = `
x-common: &common
  restart: unless-stopped
services:
  main:
    build: .
    environment: {DB_URL: "postgres://db/app", TOKEN: "\${TOKEN}"}
    volumes: [data:/var/lib/data, /scratch, {type: volume, source: data, target: /d2}, {type: tmpfs, target: /t}]
    tmpfs: [/run/x]
    depends_on: {db: {condition: service_healthy}}
    networks: [backend]
    security_opt: [no-new-privileges:true]
    ulimits: {nofile: {soft: 65536, hard: 65536}}
    deploy: {resources: {limits: {cpus: "1", memory: 2g}}}
    cap_drop: [ALL]
    read_only: false
    privileged: false
    env_file: [app.env, {path: config/more.env, required: false}]
    secrets: [db_password]
    healthcheck: {test: ["CMD", "true"], interval: 5s}
  db:
    <<: *common
    image: postgres:16
    build: {context: ./db, dockerfile: docker/Dockerfile, args: {V: "16"}, target: final}
    network_mode: service:main
    pid: service:main
    ipc: shareable
    volumes_from: [main:ro]
    extends: {service: main}
    logging: {driver: json-file, options: {max-size: 10m}}
    oom_score_adj: 100
volumes:
  data: {}
  cache:
  ram: {driver: local, driver_opts: {type: tmpfs, device: tmpfs, o: "size=100m"}}
networks:
  backend: {driver: bridge, internal: true}
secrets:
  db_password: {file: secrets/db_password.txt}
configs:
  app: {content: "debug=false"}
`
    expect(violations(text)).toEqual([])
    expect(violations(text, 'terminal-bench')).toEqual([])
  })

  it("Harbor's main service may be named by a sidecar that the task's file defines alone", () => {
    const sidecar = 'services:\n  proxy:\n    image: nginx\n    network_mode: service:main\n'
    expect(violations(sidecar)).toEqual([])
    // Terminal-Bench has no such service: `main` is then something outside the task.
    expect(rules(sidecar, 'terminal-bench')).toEqual(['host_network'])
  })

  it('an empty services mapping, as test tasks have', () => {
    expect(violations('services: {}\n', 'terminal-bench')).toEqual([])
  })
})

/** [rule, a compose file that breaks it]: one line each, short and long syntax both. */
const BREAKS: [ComposeRule, string][] = [
  ['privileged', service('privileged: true')],
  ['privileged', service('privileged: "true"')],
  ['privileged', service('privileged: ${PRIVILEGED}')],
  ['privileged', service('build: {context: ., privileged: true}')],
  ['privileged', service('build: {context: ., entitlements: [security.insecure]}')],
  ['privileged', service('post_start: [{command: id, privileged: true}]')],
  ['cap_add', service('cap_add: [SYS_ADMIN]')],
  ['devices', service('devices: ["/dev/sda:/dev/sda"]')],
  ['devices', service('devices: [{source: /dev/kmsg, target: /dev/kmsg}]')],
  ['devices', service('device_cgroup_rules: ["c 1:3 mr"]')],
  ['gpus', service('gpus: all')],
  ['gpus', service('deploy: {resources: {reservations: {devices: [{capabilities: [gpu]}]}}}')],
  ['host_pid', service('pid: host')],
  ['host_pid', service('pid: container:harbor-runner-worker-1')],
  ['host_pid', service('pid: service:nowhere')],
  ['host_ipc', service('ipc: host')],
  ['host_uts', service('uts: host')],
  ['host_userns', service('userns_mode: host')],
  ['host_cgroup', service('cgroup: host')],
  ['host_cgroup', service('cgroup_parent: system.slice')],
  ['host_network', service('network_mode: host')],
  ['host_network', service('network_mode: container:postgres')],
  ['host_network', service('network_mode: ${NET}')],
  ['host_network', service('build: {context: ., network: host}')],
  ['host_network', service('networks: {n: {driver_opts: {x: y}}}')],
  ['host_network', 'networks:\n  n: {driver: host}\n'],
  ['host_network', 'networks:\n  n: {driver: macvlan, driver_opts: {parent: eth0}}\n'],
  ['host_network', 'networks:\n  n: {ipam: {config: [{subnet: 10.0.0.0/24}]}}\n'],
  ['host_mounts', service('volumes: ["/home:/host"]')],
  ['host_mounts', service('volumes: ["/etc:/etc:ro"]')],
  ['host_mounts', service('volumes: ["./data:/data"]')],
  ['host_mounts', service('volumes: ["../../:/up"]')],
  ['host_mounts', service('volumes: ["~/.ssh:/keys"]')],
  ['host_mounts', service('volumes: ["${HOME}:/home"]')],
  ['host_mounts', service('volumes: ["${X}"]')],
  ['host_mounts', service('volumes: ["C:\\\\Users:C:\\\\data"]')],
  ['host_mounts', service('volumes: [{type: bind, source: /root, target: /host}]')],
  ['host_mounts', service('volumes: [{type: bind, source: ., target: /task}]')],
  ['host_mounts', service('volumes: [{type: npipe, source: "\\\\\\\\.\\\\pipe\\\\x", target: /p}]')],
  ['host_mounts', service('volumes: [{type: volume, source: /etc, target: /e}]')],
  ['host_mounts', service('volumes: [{type: cluster, source: x, target: /c}]')],
  ['host_mounts', service('volumes: [{source: x, target: /c}]')],
  ['host_mounts', service('volumes_from: ["container:harbor-runner-worker-1"]')],
  ['host_mounts', 'volumes:\n  etc: {driver_opts: {type: none, o: bind, device: /etc}}\n'],
  ['host_mounts', 'volumes:\n  nfs: {driver_opts: {type: nfs, o: "addr=10.0.0.2", device: ":/export"}}\n'],
  ['host_mounts', 'volumes:\n  v: {driver: some-plugin}\n'],
  ['docker_socket', service('volumes: ["/var/run/docker.sock:/var/run/docker.sock"]')],
  ['docker_socket', service('volumes: ["/:/host"]')],
  ['docker_socket', service('volumes: [{type: bind, source: /, target: /host}]')],
  ['docker_socket', 'volumes:\n  root: {driver_opts: {type: none, o: bind, device: /}}\n'],
  ['docker_socket', service('volumes: ["/run:/host-run"]')],
  ['docker_socket', service('volumes: ["/var/run/../run/docker.sock:/s"]')],
  ['docker_socket', service('volumes: [{type: bind, source: /var/run/docker.sock, target: /s}]')],
  ['docker_socket', service('use_api_socket: true')],
  ['docker_socket', 'volumes:\n  s: {driver_opts: {type: none, o: bind, device: /var/run}}\n'],
  ['external_resources', 'volumes:\n  pg: {external: true, name: harbor-runner_pgdata}\n'],
  ['external_resources', 'volumes:\n  pg: {name: harbor-runner_pgdata}\n'],
  ['external_resources', 'networks:\n  n: {external: true}\n'],
  ['external_resources', 'networks:\n  n: {name: harbor-runner_default}\n'],
  ['external_resources', 'secrets:\n  s: {external: true}\n'],
  ['external_resources', 'configs:\n  c: {name: other}\n'],
  ['external_resources', service('external_links: [postgres]')],
  ['outside_paths', service('build: ../..')],
  ['outside_paths', service('build: /')],
  ['outside_paths', service('build: {context: /home}')],
  ['outside_paths', service('build: {context: "https://127.0.0.1:2375/x.tar"}')],
  ['outside_paths', service('build: {context: "${HOME}"}')],
  ['outside_paths', service('build: {context: ., dockerfile: ../../etc/passwd}')],
  ['outside_paths', service('build: {context: sub, dockerfile: ../../x}')],
  ['outside_paths', service('build: {dockerfile: /etc/shadow}')],
  ['outside_paths', service('env_file: /proc/self/environ')],
  ['outside_paths', service('env_file: [{path: ../../.env}]')],
  ['outside_paths', service('label_file: ~/labels')],
  ['outside_paths', 'secrets:\n  key: {file: /srv/harbor/secrets.key}\n'],
  ['outside_paths', 'configs:\n  c: {file: ../../../etc/passwd}\n'],
  ['include', 'include: [../../other.yaml]\n'],
  ['include', service('extends: {file: /tmp/x.yaml, service: evil}')],
  ['build_host_access', service('build: {context: ., additional_contexts: {root: /}}')],
  ['build_host_access', service('build: {context: ., ssh: [default]}')],
  ['build_host_access', service('build: {context: ., cache_from: ["type=local,src=/etc"]}')],
  ['build_host_access', service('build: {context: ., cache_to: ["type=local,dest=/etc"]}')],
  ['security_opt', service('security_opt: ["seccomp=unconfined"]')],
  ['security_opt', service('security_opt: ["apparmor=unconfined"]')],
  ['security_opt', service('credential_spec: {file: x.json}')],
  ['sysctls', service('sysctls: {net.ipv4.ip_forward: 1}')],
  ['extra_hosts', service('extra_hosts: ["host.docker.internal:host-gateway"]')],
  ['extra_hosts', service('build: {context: ., extra_hosts: ["a:1.2.3.4"]}')],
  ['runtime', service('runtime: nvidia')],
  ['oom', service('oom_kill_disable: true')],
  ['oom', service('oom_score_adj: -1000')],
  ['logging', service('logging: {driver: syslog, options: {syslog-address: "tcp://127.0.0.1:5432"}}')],
  ['ports', service('ports: ["7233:7233"]')],
  ['ports', service('ports: [{target: 80, published: 8000, host_ip: 0.0.0.0}]')],
  ['provider', service('provider: {type: some-binary}')],
  ['provider', 'models:\n  m: {model: ai/smollm2}\n'],
  ['unknown_keys', service('volume_driver: local')],
  ['unknown_keys', service('build: {context: ., bogus: 1}')],
  ['unknown_keys', 'futuristic: {}\n'],
]

describe('each rule', () => {
  it.each(BREAKS)('%s: %j', (rule, text) => {
    expect(rules(text)).toContain(rule)
    // No rule is broken by accident: each example breaks only its rule (a socket is a host mount too).
    const expected = rule === 'docker_socket' && !text.includes('use_api_socket') ? [rule, 'host_mounts'] : [rule]
    expect(rules(text)).toEqual(expected.sort())
  })

  it('has an example for every rule', () => {
    const covered = new Set([...BREAKS.map(([rule]) => rule), 'harness_variables'])
    expect(COMPOSE_RULES.filter((r) => !covered.has(r))).toEqual([])
  })

  it('checks every service, not only the first', () => {
    const text = 'services:\n  main: {image: a}\n  second: {image: b}\n  third: {image: c, privileged: true}\n'
    expect(violations(text)).toEqual([
      { rule: 'privileged', file: FILE, where: 'service "third"', what: 'privileged true' },
    ])
  })

  it('sees through YAML merge keys and Compose merge tags', () => {
    expect(rules('x-evil: &evil {privileged: true}\nservices:\n  main:\n    <<: *evil\n    image: a\n')).toEqual([
      'privileged',
    ])
    expect(rules(service('volumes: !override ["/:/host"]'))).toEqual(['docker_socket', 'host_mounts'])
    expect(violations(service('image: a', 'ports: !reset []', 'cap_add: !reset null'))).toEqual([])
  })

  it('refuses a .env beside the file that sets the variables of the harness mounts', () => {
    const text = service('volumes: ["${HOST_AGENT_LOGS_PATH}:${ENV_AGENT_LOGS_PATH}"]')
    expect(violations(text, 'harbor', 'APP_PORT=8080\n')).toEqual([])
    expect(violations(text, 'harbor', 'APP_PORT=8080\nexport HOST_AGENT_LOGS_PATH=/\n')).toEqual([
      {
        rule: 'harness_variables',
        file: 'environment/.env',
        where: null,
        what: "setting HOST_AGENT_LOGS_PATH (a variable of the harness's own mounts)",
      },
    ])
    const tb = composeViolations({
      path: 'docker-compose.yaml',
      text: 'services: {}\n',
      format: 'terminal-bench',
      dotenv: 'T_BENCH_TASK_LOGS_PATH=/\n',
    })
    expect(tb.map((v) => [v.rule, v.file])).toEqual([['harness_variables', '.env']])
  })
})

describe('checkComposeFile', () => {
  const privileged = {
    path: FILE,
    text: service('image: a', 'privileged: true'),
    format: 'harbor',
    dotenv: null,
  } as const

  it('names the file, the service and the key, and the rule that relaxes it', () => {
    const error = (() => {
      try {
        checkComposeFile(privileged, [])
      } catch (err) {
        return err as TaskArchiveError
      }
    })()
    expect(error).toBeInstanceOf(TaskArchiveError)
    expect(error?.code).toBe('task_compose_forbidden')
    expect(error?.message).toBe(
      'environment/docker-compose.yaml: service "main": privileged true is not allowed ' +
        '(a task cannot reach the Docker host; TASK_COMPOSE_ALLOW=privileged relaxes this)',
    )
  })

  it('says how many more there are', () => {
    const text = service('privileged: true', 'cap_add: [ALL]', 'pid: host')
    expect(() => checkComposeFile({ ...privileged, text }, [])).toThrow(
      /privileged true is not allowed .*\(and 2 more\)$/,
    )
  })

  it('passes what the operator allows, and only that', () => {
    expect(() => checkComposeFile(privileged, ['privileged'])).not.toThrow()
    const text = service('privileged: true', 'pid: host')
    expect(() => checkComposeFile({ ...privileged, text }, ['privileged'])).toThrow(/pid "host".*host_pid/)
    expect(() => checkComposeFile({ ...privileged, text }, ['privileged', 'host_pid'])).not.toThrow()
  })

  it('keeps the socket refused when host mounts are allowed, and the other way round', () => {
    const socket = { ...privileged, text: service('volumes: ["/var/run/docker.sock:/var/run/docker.sock"]') }
    expect(() => checkComposeFile(socket, ['host_mounts'])).toThrow(/TASK_COMPOSE_ALLOW=docker_socket/)
    expect(() => checkComposeFile(socket, ['docker_socket'])).toThrow(/TASK_COMPOSE_ALLOW=host_mounts/)
    expect(() => checkComposeFile(socket, ['docker_socket', 'host_mounts'])).not.toThrow()
  })

  it('describes a violation without a part of the file', () => {
    const v = { rule: 'unknown_keys' as const, file: 'docker-compose.yaml', where: null, what: 'futuristic' }
    expect(describeViolation(v)).toBe(
      'docker-compose.yaml: futuristic is not allowed (this policy does not know it; TASK_COMPOSE_ALLOW=unknown_keys relaxes this)',
    )
  })
})

describe('files that are not Compose files', () => {
  it('refuses invalid YAML, naming the file', () => {
    expect(invalidReason('services: [\n')).toMatch(/^environment\/docker-compose\.yaml is not valid YAML: /)
  })

  it('refuses a file that is not a mapping, or empty', () => {
    expect(invalidReason('- main\n')).toMatch(/is not a Compose file/)
    expect(invalidReason('just text\n')).toMatch(/is not a Compose file/)
    expect(invalidReason('')).toMatch(/is not a Compose file/)
  })

  it('refuses duplicate keys and several documents: Compose must read what was checked', () => {
    expect(invalidReason(service('privileged: false', 'privileged: true'))).toMatch(/unique/)
    expect(invalidReason('services: {}\n---\nservices: {main: {privileged: true}}\n')).toMatch(
      /more than one YAML document/,
    )
  })

  it('refuses an alias bomb', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ].join('\n')
    expect(invalidReason(bomb)).toMatch(/alias/)
  })

  it('refuses nesting deep enough to overflow the YAML library (which would end the process), before it parses', () => {
    expect(invalidReason(`services: ${'['.repeat(5000)}`)).toMatch(/nests collections more than 64 deep/)
    expect(invalidReason(`services: ${'{a: '.repeat(3000)}`)).toMatch(/nests collections more than 64 deep/)
    expect(invalidReason(`services:\n  main:\n    command:\n      ${'- '.repeat(3000)}x\n`)).toMatch(
      /more than 64 deep/,
    )
    const indented = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')
    expect(invalidReason(indented)).toMatch(/more than 64 deep/)
    // Real nesting, however unusual, is far below.
    expect(violations(`x-deep: ${'['.repeat(60)}${']'.repeat(60)}\nservices: {}\n`)).toEqual([])
  })

  it('refuses shapes Compose would not take', () => {
    expect(invalidReason('services: [main]\n')).toMatch(/services must be a mapping/)
    expect(invalidReason('services:\n  main: [a]\n')).toMatch(/service "main": a service must be a mapping/)
    expect(invalidReason(service('volumes: /:/host'))).toMatch(/volumes must be a list/)
    expect(invalidReason(service('volumes: [[/, /host]]'))).toMatch(/volumes\[0\] must be a string or a mapping/)
    expect(invalidReason(service('build: [.]'))).toMatch(/build must be a path or a mapping/)
    expect(invalidReason('volumes: [data]\n')).toMatch(/volumes must be a mapping/)
  })
})
