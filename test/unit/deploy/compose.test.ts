/**
 * The production stack (docker-compose.yml, Dockerfile), checked without a Docker engine: the compose
 * file is parsed and interpolated the way Compose does it, and what it gives the API and the workers
 * must be what the config schema accepts. Renaming or removing a variable in src/config.ts without
 * updating the compose file fails here.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { ENV_KEYS, loadConfig } from '../../../src/config.js'
import { PROJECT_ROOT } from '../../../src/paths.js'

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8')

interface Healthcheck {
  test?: string | string[]
  disable?: boolean
}
interface Service {
  image?: string
  build?: { context?: string; dockerfile?: string } | string
  command?: string | string[]
  container_name?: string
  user?: string
  restart?: string
  ports?: (string | { target: number; published?: string | number; host_ip?: string })[]
  depends_on?: Record<string, { condition?: string }> | string[]
  environment?: Record<string, string | number | boolean | null> | string[]
  volumes?: (string | { type?: string; source?: string; target: string })[]
  healthcheck?: Healthcheck
}
interface Compose {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

/** What the operator's environment (or .env) plausibly holds: the one required secret. */
const SECRETS_KEY = Buffer.alloc(32, 7).toString('base64')
const OPERATOR_ENV = { SECRETS_KEY }

/**
 * Compose's variable interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:?e}`,
 * `${VAR?e}`, `${VAR:+x}`, `${VAR+x}`, with expressions nested in the operand.
 */
function interpolate(text: string, env: Record<string, string>): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const char = text[i]!
    if (char !== '$') {
      out += char
      i++
      continue
    }
    const next = text[i + 1]
    if (next === '$') {
      out += '$'
      i += 2
      continue
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))
    if (bare) {
      out += env[bare[0]] ?? ''
      i += 1 + bare[0].length
      continue
    }
    if (next !== '{') {
      out += char
      i++
      continue
    }
    // ${NAME[op operand]}: the operand runs to the brace that closes this expression.
    let depth = 1
    let end = i + 2
    for (; end < text.length && depth > 0; end++) {
      if (text[end] === '$' && text[end + 1] === '{') {
        depth++
        end++
      } else if (text[end] === '}') depth--
    }
    if (depth > 0) throw new Error(`unterminated \${ in ${text}`)
    const expression = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(text.slice(i + 2, end - 1))
    if (!expression) throw new Error(`invalid interpolation in ${text}`)
    out += evaluate(expression[1]!, expression[2], expression[3] ?? '', env)
    i = end
  }
  return out
}

function evaluate(name: string, op: string | undefined, operand: string, env: Record<string, string>): string {
  const value = env[name]
  const set = value !== undefined
  const nonEmpty = set && value !== ''
  const arg = () => interpolate(operand, env)
  switch (op) {
    case ':-':
      return nonEmpty ? value : arg()
    case '-':
      return set ? value : arg()
    case ':?':
    case '?':
      if (op === ':?' ? !nonEmpty : !set) throw new Error(`required variable ${name} is missing a value: ${arg()}`)
      return value!
    case ':+':
      return nonEmpty ? arg() : ''
    case '+':
      return set ? arg() : ''
    default:
      return value ?? ''
  }
}

function interpolateAll<T>(value: T, env: Record<string, string>): T {
  if (typeof value === 'string') return interpolate(value, env) as T
  if (Array.isArray(value)) return value.map((v: unknown) => interpolateAll(v, env)) as T
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)])) as T
  return value
}

function parseCompose(): unknown {
  // YAML 1.1 merge keys (`<<: *anchor`), as Compose reads them.
  const doc = parseDocument(read('docker-compose.yml'), { merge: true })
  expect(doc.errors).toEqual([])
  expect(doc.warnings).toEqual([])
  return doc.toJS()
}

function loadCompose(env: Record<string, string> = OPERATOR_ENV): Compose {
  return interpolateAll(parseCompose(), env) as Compose
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {}
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0]!, entry.slice(entry.indexOf('=') + 1)]))
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]))
}

interface Port {
  hostIp: string | null
  published: string | null
  target: number
}
function portsOf(service: Service): Port[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p !== 'string')
      return { hostIp: p.host_ip ?? null, published: p.published?.toString() ?? null, target: p.target }
    const parts = p.replace(/\/(tcp|udp)$/, '').split(':')
    const target = Number(parts.pop())
    const published = parts.pop() ?? null
    return { hostIp: parts.pop() ?? null, published, target }
  })
}

function dependsOn(service: Service): Record<string, string> {
  const deps = service.depends_on ?? {}
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']))
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v.condition ?? 'service_started']))
}

function bindMounts(service: Service): { source: string; target: string }[] {
  return (service.volumes ?? []).flatMap((v) => {
    if (typeof v !== 'string') return v.source ? [{ source: v.source, target: v.target }] : []
    const [source, target] = v.split(':')
    return source && target ? [{ source, target }] : []
  })
}

function commandOf(service: Service): string[] {
  const command = service.command ?? []
  return typeof command === 'string' ? command.split(/\s+/) : command
}

/** The Dockerfile as instructions, continuation lines joined, comments dropped. */
function dockerfileInstructions(): { op: string; args: string }[] {
  return read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/)
      return { op: op!.toUpperCase(), args: rest.join(' ') }
    })
}

const SERVICES = ['postgres', 'temporal', 'temporal-ui', 'api', 'worker']
const SERVICE_PROCESSES = ['api', 'worker'] as const

describe('docker-compose.yml', () => {
  it('is read with Compose’s interpolation rules', () => {
    const env = { SET: 'v', EMPTY: '' }
    expect(interpolate('a $$b $$$SET ${SET} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${SET:+r} ${EMPTY+r}', env)).toBe(
      'a $b $v v d  d r r',
    )
    expect(interpolate('${UNSET:-x${UNSET:-${SET}}y}', env)).toBe('xvy')
    expect(() => interpolate('${EMPTY:?needed}', env)).toThrow(/EMPTY.*needed/)
    expect(interpolate('${EMPTY?needed}', env)).toBe('')
  })

  it('parses, and refuses to interpolate without SECRETS_KEY', () => {
    const compose = loadCompose()
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(SERVICES))
    expect(() => interpolateAll(parseCompose(), {})).toThrow(/SECRETS_KEY/)
  })

  it('runs the five services, beside them only one-shot jobs that others wait for', () => {
    const { services } = loadCompose()
    const awaited = new Set(
      Object.values(services).flatMap((s) =>
        Object.entries(dependsOn(s))
          .filter(([, condition]) => condition === 'service_completed_successfully')
          .map(([name]) => name),
      ),
    )
    for (const [name, service] of Object.entries(services)) {
      if (SERVICES.includes(name)) continue
      expect(awaited.has(name), `${name} is neither one of the five services nor a one-shot job`).toBe(true)
      expect(service.restart ?? 'no').toBe('no')
    }
  })

  it('pins every image, or builds it from the Dockerfile (one build for the API and the worker)', () => {
    const { services } = loadCompose()
    for (const [name, service] of Object.entries(services)) {
      if (service.build) {
        const build = typeof service.build === 'string' ? { context: service.build } : service.build
        expect(path.resolve(PROJECT_ROOT, build.context ?? '.'), name).toBe(PROJECT_ROOT)
        expect(existsSync(path.join(PROJECT_ROOT, build.dockerfile ?? 'Dockerfile')), name).toBe(true)
        continue
      }
      const image = service.image ?? ''
      const tag = /^[^@]+:([^/:@]+)$/.exec(image)?.[1]
      expect(tag, `${name}: image ${image} has no tag`).toBeDefined()
      expect(tag, `${name}: image ${image}`).not.toBe('latest')
    }
    expect(services.api!.build).toBeDefined()
    expect(services.worker!.build).toEqual(services.api!.build)
    expect(services.worker!.image).toEqual(services.api!.image)
  })

  it('keeps Temporal official and its schema tool at the server version', () => {
    const { services } = loadCompose()
    const server = /^temporalio\/(server|auto-setup):(.+)$/.exec(services.temporal!.image ?? '')
    expect(server, services.temporal!.image).not.toBeNull()
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/)
    for (const service of Object.values(services)) {
      const tools = /^temporalio\/admin-tools:(.+)$/.exec(service.image ?? '')
      if (tools) expect(tools[1]).toBe(server![2])
    }
    const env = environmentOf(services.temporal!)
    expect(env.DB).toMatch(/^postgres12/)
    expect(env.POSTGRES_SEEDS).toBe('postgres')
    expect(Number(env.NUM_HISTORY_SHARDS)).toBeGreaterThanOrEqual(1)
  })

  it('publishes the API on 8000 and the UI on 8080; Temporal only on 7233, PostgreSQL never by default', () => {
    const { services } = loadCompose()
    expect(portsOf(services.api!).map((p) => p.target)).toEqual([8000])
    expect(portsOf(services['temporal-ui']!).map((p) => p.target)).toEqual([8080])
    for (const port of portsOf(services.temporal!)) expect(port.target).toBe(7233)
    expect(portsOf(services.postgres!)).toEqual([])
    // The UI has no login: loopback unless the operator says otherwise.
    expect(portsOf(services['temporal-ui']!)[0]!.hostIp).toBe('127.0.0.1')
  })

  it('starts the API and the workers once PostgreSQL and Temporal are healthy and the namespace exists', () => {
    const { services } = loadCompose()
    for (const name of SERVICE_PROCESSES) {
      const deps = dependsOn(services[name]!)
      expect(deps.postgres, name).toBe('service_healthy')
      expect(deps.temporal, name).toBe('service_healthy')
      const namespaceJobs = Object.entries(deps).filter(([, c]) => c === 'service_completed_successfully')
      expect(namespaceJobs.length, name).toBeGreaterThan(0)
    }
    expect(dependsOn(services.temporal!).postgres).toBe('service_healthy')
  })

  it('health checks every long-running service', () => {
    const { services } = loadCompose()
    for (const [name, service] of Object.entries(services)) {
      if ((service.restart ?? 'no') === 'no') continue
      const test = service.healthcheck?.test
      expect(service.healthcheck?.disable, name).not.toBe(true)
      expect(Array.isArray(test) ? test : [test], name).not.toContain('NONE')
      expect(Array.isArray(test) ? test.length : (test ?? '').length, name).toBeGreaterThan(1)
      expect(service.restart, name).toBe('unless-stopped')
    }
    const apiCheck = (services.api!.healthcheck!.test as string[]).join(' ')
    expect(apiCheck).toContain(`:${environmentOf(services.api!).API_PORT}/api/health`)
    expect(services.postgres!.healthcheck!.test).toContain('pg_isready')
  })

  it('lets the worker scale: no container name, no published port, the Docker socket, the work dir at the host path', () => {
    const { services } = loadCompose({ ...OPERATOR_ENV, HOST_WORK_DIR: '/srv/harbor/work' })
    const worker = services.worker!
    expect(worker.container_name).toBeUndefined()
    expect(worker.ports ?? []).toEqual([])
    const mounts = bindMounts(worker)
    expect(mounts).toContainEqual({ source: '/var/run/docker.sock', target: '/var/run/docker.sock' })
    // Harbor bind-mounts trial directories into task containers: the daemon must find them at the same path.
    expect(mounts).toContainEqual({ source: '/srv/harbor/work', target: '/srv/harbor/work' })
    const config = loadConfig(environmentOf(worker), '/app')
    expect(config.hosts.map((h) => h.workDir)).toEqual(['/srv/harbor/work'])
  })

  it('gives the API and the worker only variables the config schema knows', () => {
    const { services } = loadCompose()
    const known = new Set(ENV_KEYS)
    for (const name of SERVICE_PROCESSES) {
      const unknown = Object.keys(environmentOf(services[name]!)).filter((key) => !known.has(key))
      expect(unknown, `${name} is given variables that src/config.ts does not read`).toEqual([])
    }
  })

  it('gives the API and the worker a configuration the service accepts, pointing at the stack', () => {
    const { services } = loadCompose()
    const api = loadConfig(environmentOf(services.api!), '/app')
    expect(api.api.host).toBe('0.0.0.0')
    expect(portsOf(services.api!)[0]!.target).toBe(api.api.port)
    expect(api.secretsKey?.toString('base64')).toBe(SECRETS_KEY)

    const worker = loadConfig(environmentOf(services.worker!), '/app')
    expect(worker.workerHosts).toEqual(['local'])
    expect(worker.harness.defaultEnvironment).toBe('docker')

    for (const config of [api, worker]) {
      const db = new URL(config.database.url!)
      expect(services[db.hostname], `DATABASE_URL host ${db.hostname}`).toBeDefined()
      const postgres = environmentOf(services.postgres!)
      expect(decodeURIComponent(db.username)).toBe(postgres.POSTGRES_USER)
      expect(decodeURIComponent(db.password)).toBe(postgres.POSTGRES_PASSWORD)
      expect(db.pathname).toBe(`/${postgres.POSTGRES_DB}`)
      const [host, port] = config.temporal.address!.split(':')
      expect(services[host!], `TEMPORAL_ADDRESS host ${host}`).toBeDefined()
      expect(port).toBe('7233')
      // Tasks uploaded to the API are staged by the workers, and artifacts go the other way.
      const dataVolume = (name: string) =>
        bindMounts(services[name]!).find((m) => m.target === config.dataDir)?.source ?? null
      expect(dataVolume('api')).not.toBeNull()
      expect(dataVolume('worker')).toBe(dataVolume('api'))
    }
  })

  it('keeps the namespace of the API, the workers, the namespace job and the UI in step', () => {
    const { services } = loadCompose({ ...OPERATOR_ENV, TEMPORAL_NAMESPACE: 'evals' })
    const namespaces = [
      loadConfig(environmentOf(services.api!), '/app').temporal.namespace,
      loadConfig(environmentOf(services.worker!), '/app').temporal.namespace,
      environmentOf(services['temporal-ui']!).TEMPORAL_DEFAULT_NAMESPACE,
      ...Object.values(services)
        .filter((s) => s.image?.startsWith('temporalio/admin-tools:') && environmentOf(s).NAMESPACE !== undefined)
        .map((s) => environmentOf(s).NAMESPACE),
    ]
    expect(namespaces).toEqual(['evals', 'evals', 'evals', 'evals'])
  })

  it('points a worker on another Docker host at the central servers when .env names them', () => {
    const { services } = loadCompose({
      ...OPERATOR_ENV,
      DATABASE_URL: 'postgres://harbor:s3cret@10.0.0.2:5432/harbor_runner',
      TEMPORAL_ADDRESS: '10.0.0.2:7233',
      HOST_ID: 'docker2',
    })
    const config = loadConfig(environmentOf(services.worker!), '/app')
    expect(config.database.url).toBe('postgres://harbor:s3cret@10.0.0.2:5432/harbor_runner')
    expect(config.temporal.address).toBe('10.0.0.2:7233')
    expect(config.workerHosts).toEqual(['docker2'])
    const local = loadConfig(
      environmentOf(loadCompose({ ...OPERATOR_ENV, POSTGRES_PASSWORD: 'pw' }).services.api!),
      '/app',
    )
    expect(local.database.url).toBe('postgres://harbor:pw@postgres:5432/harbor_runner')
  })

  it('gives the API and the worker the same default environment and allowed import paths', () => {
    const { services } = loadCompose({
      ...OPERATOR_ENV,
      DEFAULT_ENVIRONMENT: 'my_envs:Sandbox',
      ALLOWED_IMPORT_PATHS: 'my_agents:Agent',
    })
    for (const name of SERVICE_PROCESSES) {
      const { harness } = loadConfig(environmentOf(services[name]!), '/app')
      expect(harness.defaultEnvironment, name).toBe('my_envs:Sandbox')
      expect(harness.allowedImportPaths, name).toEqual(['my_agents:Agent', 'my_envs:Sandbox'])
    }
  })

  it('passes the operator’s host settings through to the worker', () => {
    const hosts = JSON.stringify([{ id: 'gpu1', slots: 16, work_dir: '/var/lib/harbor-runner/work' }])
    const { services } = loadCompose({ ...OPERATOR_ENV, HOSTS: hosts, WORKER_HOSTS: 'gpu1', HOST_SLOTS: '16' })
    const config = loadConfig(environmentOf(services.worker!), '/app')
    expect(config.workerHosts).toEqual(['gpu1'])
    expect(config.hosts[0]).toMatchObject({ id: 'gpu1', slots: 16, workDir: '/var/lib/harbor-runner/work' })
  })
})

describe('Dockerfile', () => {
  const instructions = dockerfileInstructions()
  const jsonArgs = (op: string) => {
    const found = instructions.filter((i) => i.op === op).at(-1)
    return found ? (JSON.parse(found.args) as string[]) : []
  }

  it('starts the API by default and the worker from compose, through tsx, with files that exist', () => {
    const { services } = loadCompose()
    const commands = [jsonArgs('CMD'), commandOf(services.api!), commandOf(services.worker!)]
    expect(commands[0]).toEqual(commands[1])
    const entries = commands.map((command) => {
      expect(command.slice(0, 3)).toEqual(['node', '--import', 'tsx'])
      return command[3]!
    })
    expect(entries).toEqual(['src/api/server.ts', 'src/api/server.ts', 'src/worker.ts'])
    for (const entry of entries) expect(existsSync(path.join(PROJECT_ROOT, entry)), entry).toBe(true)
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> }
    // `npm ci --omit=dev` keeps only dependencies: tsx must be one.
    expect(pkg.dependencies.tsx).toBeDefined()
    expect(instructions.some((i) => i.op === 'RUN' && i.args.includes('npm ci --omit=dev'))).toBe(true)
    expect(jsonArgs('ENTRYPOINT')[0]).toMatch(/tini$/)
  })

  it('copies every directory the service reads at run time', () => {
    const copied = instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).map((i) => i.args)
    for (const dir of ['src', 'migrations', 'harness-plugins', 'web']) {
      expect(copied.some((args) => args.split(/\s+/).includes(dir))).toBe(true)
      expect(existsSync(path.join(PROJECT_ROOT, dir))).toBe(true)
    }
  })

  it('pins the harbor that python-requirements.txt pins, and installs from that file', () => {
    const pinned = /^harbor==(\S+)$/m.exec(read('python-requirements.txt'))?.[1]
    expect(pinned).toBeDefined()
    const args = instructions.filter((i) => i.op === 'ARG' && i.args.startsWith('HARBOR_VERSION='))
    expect(args.length).toBeGreaterThan(0)
    for (const arg of args) expect(arg.args).toBe(`HARBOR_VERSION=${pinned}`)
    expect(instructions.some((i) => i.op === 'COPY' && i.args.includes('python-requirements.txt'))).toBe(true)
  })

  it('builds on Node 20 and Python 3.12 or newer, Debian bookworm, from pinned images', () => {
    const images = instructions
      .filter((i) => i.op === 'ARG' && /_IMAGE=/.test(i.args))
      .map((i) => i.args.split('=')[1]!)
    expect(images).toContain('node:20-bookworm-slim')
    const python = images.find((i) => i.startsWith('python:'))
    expect(python).toMatch(/^python:3\.(1[2-9])-slim-bookworm$/)
    for (const image of images) expect(image).not.toMatch(/:latest$|^[^:]+$/)
  })

  it('sets only variables the config schema knows', () => {
    const known = new Set(ENV_KEYS)
    const keys = instructions
      .filter((i) => i.op === 'ENV')
      .flatMap((i) => [...i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!))
    expect(keys.length).toBeGreaterThan(0)
    expect(keys.filter((k) => !known.has(k))).toEqual([])
  })

  it('leaves local installs, data and secrets out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
    for (const entry of ['node_modules', '.venv', '.data', '.env', '.git']) expect(ignored).toContain(entry)
  })
})
