import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../../src/config.js'

describe('observability configuration', () => {
  it('serves the API metrics, and nothing else, by default', () => {
    expect(loadConfig({}).observability).toEqual({
      metricsEnabled: true,
      metricsToken: null,
      workerMetricsHost: '127.0.0.1',
      workerMetricsPort: null,
      temporalMetricsAddress: null,
    })
  })

  it('reads every variable', () => {
    const config = loadConfig({
      METRICS_ENABLED: 'false',
      METRICS_TOKEN: 'a-long-scrape-token',
      WORKER_METRICS_HOST: '0.0.0.0',
      WORKER_METRICS_PORT: '9464',
      TEMPORAL_METRICS_ADDRESS: '0.0.0.0:9465',
    })
    expect(config.observability).toEqual({
      metricsEnabled: false,
      metricsToken: 'a-long-scrape-token',
      workerMetricsHost: '0.0.0.0',
      workerMetricsPort: 9464,
      temporalMetricsAddress: '0.0.0.0:9465',
    })
  })

  it('names the variables at fault', () => {
    let message = ''
    try {
      loadConfig({ METRICS_TOKEN: 'short', WORKER_METRICS_PORT: '70000', TEMPORAL_METRICS_ADDRESS: '9465' })
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      message = (err as Error).message
    }
    expect(message).toMatch(/METRICS_TOKEN: must be at least 16 characters/)
    expect(message).toMatch(/WORKER_METRICS_PORT/)
    expect(message).toMatch(/TEMPORAL_METRICS_ADDRESS: must be host:port/)
  })
})
