import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../../src/config.js'

describe('loadConfig', () => {
  it('defaults to the embedded services on one machine', () => {
    const config = loadConfig({}, '/srv/app')
    expect(config.dataDir).toBe('/srv/app/.data')
    expect(config.database.url).toBeNull()
    expect(config.temporal.address).toBeNull()
    expect(config.temporal.uiUrl).toBe('http://127.0.0.1:8233')
    expect(config.api).toMatchObject({ host: '127.0.0.1', port: 8000, allowedOrigins: [] })
    expect(config.hosts).toEqual([
      expect.objectContaining({ id: 'local', slots: 4, workDir: '/srv/app/.data/work', ssh: null }),
    ])
    expect(config.workerHosts).toEqual(['local'])
    expect(Object.isFrozen(config) && Object.isFrozen(config.limits)).toBe(true)
  })

  it('switches to external servers', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/x', TEMPORAL_ADDRESS: 'temporal:7233' })
    expect(config.database.url).toBe('postgres://u:p@db:5432/x')
    expect(config.temporal.address).toBe('temporal:7233')
    expect(config.temporal.uiUrl).toBeNull()
  })

  it('names every variable at fault', () => {
    const load = () =>
      loadConfig({ API_PORT: 'eighty', TEMPORAL_ADDRESS: 'no-port', SECRETS_KEY: 'c2hvcnQ=', RUN_MAX_ATTEMPTS: '0' })
    expect(load).toThrow(ConfigError)
    const message = (() => {
      try {
        load()
      } catch (err) {
        return (err as Error).message
      }
    })()
    for (const name of ['API_PORT', 'TEMPORAL_ADDRESS', 'SECRETS_KEY', 'RUN_MAX_ATTEMPTS'])
      expect(message).toContain(name)
  })

  it('makes the harness import path absolute (the harness runs elsewhere)', () => {
    expect(loadConfig({ HARNESS_PYTHONPATH: 'test/harbor-env:/opt/x' }, '/srv/app').harness.pythonPath).toBe(
      '/srv/app/test/harbor-env:/opt/x',
    )
  })

  it('reads the warm harness settings: runners of 250 attempts, terminus-2 preloaded unless `none`', () => {
    expect(loadConfig({}).harness).toMatchObject({
      runnerMaxAttempts: 250,
      runnerPreload: ['terminus-2'],
      runnerIdleExitSec: 900,
    })
    const set = loadConfig({
      RUNNER_MAX_ATTEMPTS: '50',
      RUNNER_PRELOAD: 'terminus-2, docker ,my.agents:Agent',
      ALLOWED_IMPORT_PATHS: 'my.agents:Agent',
    })
    expect(set.harness).toMatchObject({
      runnerMaxAttempts: 50,
      runnerPreload: ['terminus-2', 'docker', 'my.agents:Agent'],
    })
    expect(loadConfig({ RUNNER_PRELOAD: 'none' }).harness.runnerPreload).toEqual([])
    expect(() => loadConfig({ RUNNER_MAX_ATTEMPTS: '0' })).toThrow(/RUNNER_MAX_ATTEMPTS/)
    const perHost = loadConfig({ HOSTS: JSON.stringify([{ id: 'big', slots: 600, runner_max_attempts: 100 }]) })
    expect(perHost.hosts[0]!.runnerMaxAttempts).toBe(100)
  })

  it('allows no import path by default, and the default environment when it is one', () => {
    expect(loadConfig({}).harness.allowedImportPaths).toEqual([])
    expect(
      loadConfig({ ALLOWED_IMPORT_PATHS: ' my.agents:Agent ,,other_env:Sandbox', DEFAULT_ENVIRONMENT: 'my.envs:Box' })
        .harness.allowedImportPaths,
    ).toEqual(['my.agents:Agent', 'other_env:Sandbox', 'my.envs:Box'])
    expect(
      loadConfig({ ALLOWED_IMPORT_PATHS: 'my.envs:Box', DEFAULT_ENVIRONMENT: 'my.envs:Box' }).harness
        .allowedImportPaths,
    ).toEqual(['my.envs:Box'])
  })

  it('refuses an allow-list entry that is not module.path:ClassName, naming it', () => {
    for (const bad of [
      'my.agents',
      'terminus-2',
      'my.agents:',
      ':Agent',
      'my..agents:Agent',
      'my.agents:Agent:X',
      'my agents:Agent',
    ]) {
      expect(() => loadConfig({ ALLOWED_IMPORT_PATHS: `ok.mod:Fine,${bad}` }), bad).toThrow(
        /ALLOWED_IMPORT_PATHS: .*not module\.path:ClassName/,
      )
    }
  })

  it('refuses to preload an import path the service does not allow', () => {
    expect(() => loadConfig({ RUNNER_PRELOAD: 'terminus-2,my.agents:Agent' })).toThrow(
      /RUNNER_PRELOAD: my\.agents:Agent not in ALLOWED_IMPORT_PATHS/,
    )
    expect(
      loadConfig({ RUNNER_PRELOAD: 'my.envs:Box', DEFAULT_ENVIRONMENT: 'my.envs:Box' }).harness.runnerPreload,
    ).toEqual(['my.envs:Box'])
  })

  it('applies every task compose rule unless TASK_COMPOSE_ALLOW names some, and knows their names', () => {
    expect(loadConfig({}).tasks.composeAllow).toEqual([])
    expect(loadConfig({ TASK_COMPOSE_ALLOW: ' privileged, host_mounts ,privileged' }).tasks.composeAllow).toEqual([
      'privileged',
      'host_mounts',
    ])
    expect(() => loadConfig({ TASK_COMPOSE_ALLOW: 'privileged,everything' })).toThrow(
      /TASK_COMPOSE_ALLOW\.1: unknown rule "everything" \(the rules: privileged, cap_add, /,
    )
  })

  it('answers to the loopback names and API_HOST (unless a wildcard), and the names API_ALLOWED_HOSTS adds', () => {
    const names = (env: Record<string, string>) =>
      loadConfig(env).api.allowedHosts.map((h) => (h.port === null ? h.name : `${h.name}:${h.port}`))
    expect(names({})).toEqual(['localhost', '127.0.0.1', '[::1]'])
    expect(names({ API_HOST: '0.0.0.0' })).toEqual(['localhost', '127.0.0.1', '[::1]'])
    expect(names({ API_HOST: '::' })).toEqual(['localhost', '127.0.0.1', '[::1]'])
    expect(names({ API_HOST: '::1' })).toEqual(['localhost', '127.0.0.1', '[::1]'])
    expect(
      names({ API_HOST: '10.0.0.2', API_ALLOWED_HOSTS: 'Runner.Example.com, runner.example.com:8443,api_1' }),
    ).toEqual(['localhost', '127.0.0.1', '[::1]', '10.0.0.2', 'runner.example.com', 'runner.example.com:8443', 'api_1'])
    for (const bad of ['*', 'http://runner.example', 'runner.example/', 'a b', 'x:0', 'x:70000'])
      expect(() => loadConfig({ API_ALLOWED_HOSTS: bad }), bad).toThrow(/API_ALLOWED_HOSTS/)
  })

  it('reads API_ALLOWED_ORIGINS as origins only, and the per-token stream and upload caps', () => {
    const config = loadConfig({ API_ALLOWED_ORIGINS: 'https://Runner.example.com, http://10.0.0.2:8000/' })
    expect(config.api.allowedOrigins).toEqual(['https://runner.example.com', 'http://10.0.0.2:8000'])
    for (const bad of ['runner.example.com', 'https://runner.example.com/path', 'ftp://x', 'https://u@x', 'null'])
      expect(() => loadConfig({ API_ALLOWED_ORIGINS: bad }), bad).toThrow(/API_ALLOWED_ORIGINS/)
    expect(loadConfig({}).limits).toMatchObject({ streamsPerToken: 20, uploadsPerToken: 4 })
    expect(loadConfig({ MAX_STREAMS_PER_TOKEN: '3', MAX_UPLOADS_PER_TOKEN: '1' }).limits).toMatchObject({
      streamsPerToken: 3,
      uploadsPerToken: 1,
    })
    expect(() => loadConfig({ MAX_STREAMS_PER_TOKEN: '0' })).toThrow(/MAX_STREAMS_PER_TOKEN/)
  })

  it('reads DATASET_MAX_TASKS, 500 by default', () => {
    expect(loadConfig({}).limits.tasksPerDataset).toBe(500)
    expect(loadConfig({ DATASET_MAX_TASKS: '20' }).limits.tasksPerDataset).toBe(20)
    for (const bad of ['0', '-1', '2.5', 'many'])
      expect(() => loadConfig({ DATASET_MAX_TASKS: bad }), bad).toThrow(/DATASET_MAX_TASKS/)
  })

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', API_PORT: '' }).api.port).toBe(8000)
  })
})

describe('HOSTS', () => {
  const hosts = (value: unknown) => loadConfig({ HOSTS: JSON.stringify(value) }, '/srv/app')

  it('reads local and SSH hosts, with a remote Docker daemon', () => {
    const config = hosts([
      { id: 'local', slots: 2 },
      {
        id: 'box1',
        ssh: 'runner@10.0.0.5:2222',
        key_file: 'keys/box1',
        work_dir: '/srv/hr',
        slots: 8,
        docker_host: 'tcp://10.0.0.9:2376',
        docker_tls_verify: true,
      },
    ])
    expect(config.hosts).toEqual([
      expect.objectContaining({ id: 'local', slots: 2, ssh: null, workDir: '/srv/app/.data/work/local' }),
      expect.objectContaining({
        id: 'box1',
        slots: 8,
        workDir: '/srv/hr',
        ssh: { user: 'runner', hostname: '10.0.0.5', port: 2222, keyFile: '/srv/app/keys/box1' },
        docker: { host: 'tcp://10.0.0.9:2376', tlsVerify: true, certPath: null },
      }),
    ])
    expect(config.workerHosts).toEqual(['local', 'box1'])
    expect(
      loadConfig({
        HOSTS: JSON.stringify([
          { id: 'a', slots: 1 },
          { id: 'b', slots: 1 },
        ]),
        WORKER_HOSTS: 'b',
      }).workerHosts,
    ).toEqual(['b'])
  })

  it('names what is wrong', () => {
    expect(() => loadConfig({ HOSTS: 'not json' })).toThrow(/HOSTS: not JSON/)
    expect(() => hosts([{ id: 'Box!', slots: 1 }])).toThrow(/HOSTS\.0\.id/)
    expect(() => hosts([{ id: 'b', slots: 1, ssh: 'runner@box' }])).toThrow(/key_file and an absolute work_dir/)
    expect(() => hosts([{ id: 'b', slots: 0 }])).toThrow(/HOSTS\.0\.slots/)
    expect(() => hosts([{ id: 'b', slots: 1, colour: 'red' }])).toThrow(/HOSTS\.0/)
    expect(() =>
      hosts([
        { id: 'b', slots: 1 },
        { id: 'b', slots: 2 },
      ]),
    ).toThrow(/appears twice/)
    expect(() => loadConfig({ HOSTS: JSON.stringify([{ id: 'a', slots: 1 }]), WORKER_HOSTS: 'z' })).toThrow(
      /WORKER_HOSTS: no host z/,
    )
  })
})
