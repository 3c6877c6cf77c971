/** PostgreSQL and Temporal: external servers, or the embedded ones (the default). */
import { z } from 'zod'
import { hostPort, port, type EnvOf } from './common.js'

export const servicesEnv = {
  DATABASE_URL: z.string().url().optional(),
  EMBEDDED_POSTGRES_PORT: port.default(54329),

  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('harbor-runner'),
  TEMPORAL_BIN: z.string().min(1).optional(),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_UI_URL: z.string().url().optional(),
}

export interface ServicesConfig {
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
}

export function servicesConfig(e: EnvOf<typeof servicesEnv>): ServicesConfig {
  return {
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
  }
}
