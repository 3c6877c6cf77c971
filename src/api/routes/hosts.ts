/**
 * GET /api/hosts: the execution hosts as their workers last announced them, with their load. Where
 * a host is and what is wrong with it (its address, its problem: SSH errors name users, paths and
 * addresses) is for admin tokens (and open mode); any other token sees what it needs to know where
 * its runs can go: each host's id, slots, busy slots and whether it takes runs.
 */
import { Hono } from 'hono'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import { listHosts } from '../../db/hosts.js'

export function hostRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()
  app.get('/', async (c) => {
    const hosts = await listHosts(deps.db)
    const admin = c.get('principal').admin
    return c.json({
      hosts: hosts.map((h) => {
        const summary = {
          id: h.id,
          slots: h.slots,
          busy: h.busy,
          /** A worker serves it and found it healthy recently: it takes runs. */
          available: h.live && h.healthy,
        }
        if (!admin) return summary
        return {
          ...summary,
          kind: h.kind,
          address: h.address,
          healthy: h.healthy,
          problem: h.problem,
          seen_at: h.seen_at?.toISOString() ?? null,
        }
      }),
    })
  })
  return app
}
