/** GET /api/hosts: the execution hosts as their workers last announced them, with their load. */
import { Hono } from 'hono'
import type { AppDeps } from '../app.js'
import type { AppEnv } from '../auth.js'
import { listHosts } from '../../db/hosts.js'

export function hostRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()
  app.get('/', async (c) => {
    const hosts = await listHosts(deps.db)
    return c.json({
      hosts: hosts.map((h) => ({
        id: h.id,
        kind: h.kind,
        address: h.address,
        slots: h.slots,
        busy: h.busy,
        /** A worker serves it and found it healthy recently: it takes runs. */
        available: h.live && h.healthy,
        healthy: h.healthy,
        problem: h.problem,
        seen_at: h.seen_at?.toISOString() ?? null,
      })),
    })
  })
  return app
}
