/** Prometheus metrics (docs/observability.md): the API's, the worker's own server, Temporal's. */
import { z } from 'zod'
import { bool, hostPort, port, type EnvOf } from './common.js'

export const observabilityEnv = {
  METRICS_ENABLED: bool.default(true),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_METRICS_PORT: port.optional(),
  TEMPORAL_METRICS_ADDRESS: hostPort.optional(),
}

export interface ObservabilityConfig {
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

export function observabilityConfig(e: EnvOf<typeof observabilityEnv>): ObservabilityConfig {
  return {
    metricsEnabled: e.METRICS_ENABLED,
    metricsToken: e.METRICS_TOKEN ?? null,
    workerMetricsHost: e.WORKER_METRICS_HOST,
    workerMetricsPort: e.WORKER_METRICS_PORT ?? null,
    temporalMetricsAddress: e.TEMPORAL_METRICS_ADDRESS ?? null,
  }
}
