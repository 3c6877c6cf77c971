import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../../src/config.js'

describe('loadConfig', () => {
  it('defaults to the embedded services on one machine', () => {
    const config = loadConfig({}, '/srv/app')
    expect(config.dataDir).toBe('/srv/app/.data')
    expect(config.database.url).toBeNull()
    expect(config.temporal.address).toBeNull()
    expect(config.temporal.uiUrl).toBe('http://127.0.0.1:8233')
    expect(config.api).toEqual({ host: '127.0.0.1', port: 8000 })
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
    for (const name of ['API_PORT', 'TEMPORAL_ADDRESS', 'SECRETS_KEY', 'RUN_MAX_ATTEMPTS']) expect(message).toContain(name)
  })

  it('makes the harness import path absolute (the harness runs elsewhere)', () => {
    expect(loadConfig({ HARNESS_PYTHONPATH: 'test/harbor-env:/opt/x' }, '/srv/app').harness.pythonPath).toBe(
      '/srv/app/test/harbor-env:/opt/x',
    )
  })

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', API_PORT: '' }).api.port).toBe(8000)
  })
})
