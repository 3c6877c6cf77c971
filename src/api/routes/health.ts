import { Hono } from 'hono'
import { sql } from 'kysely'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'

/** GET /api/health: 200 when the database and Temporal answer, 503 (with which one) when not. */
export function healthRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()
  app.get('/health', async (c) => {
    const [database, temporal] = await Promise.all([
      withTimeout(
        sql`select 1`.execute(deps.db).then(() => true),
        2000,
      ),
      withTimeout(deps.jobs.ping(), 2000),
    ])
    const ok = database && temporal
    return c.json(
      {
        status: ok ? 'ok' : 'degraded',
        database: database ? 'ok' : 'unavailable',
        temporal: temporal ? 'ok' : 'unavailable',
      },
      ok ? 200 : 503,
    )
  })
  return app
}

async function withTimeout(check: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([check.catch(() => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}
