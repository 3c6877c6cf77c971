/**
 * Execution hosts and the placement of attempts on them. Workers announce the hosts they serve
 * (and whether each is healthy) every few seconds; an attempt is placed, under a lock, on the live
 * healthy host with the most free slots, where busy slots are its attempts not yet finished.
 */
import { sql } from 'kysely'
import type { Db } from './database.js'
import type { HostRow } from './schema.js'

/** A host is live while a worker has announced it this recently. */
export const HOST_LIVE_WITHIN_SEC = 30

export interface HostAnnouncement {
  id: string
  kind: 'local' | 'ssh'
  address: string | null
  slots: number
  healthy: boolean
  problem: string | null
}

export async function announceHost(db: Db, h: HostAnnouncement): Promise<void> {
  await db
    .insertInto('hosts')
    .values({ ...h, seen_at: sql`now()` })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        kind: h.kind,
        address: h.address,
        slots: h.slots,
        healthy: h.healthy,
        problem: h.problem,
        seen_at: sql`now()`,
      }),
    )
    .execute()
}

/** A worker stopping cleanly: the host takes no new runs until a worker announces it again. */
export async function retireHost(db: Db, id: string): Promise<void> {
  await db.updateTable('hosts').set({ seen_at: null }).where('id', '=', id).execute()
}

export interface HostLoad extends HostRow {
  busy: number
  live: boolean
}

export async function listHosts(db: Db): Promise<HostLoad[]> {
  const rows = await db
    .selectFrom('hosts')
    .selectAll('hosts')
    .select((eb) => [
      eb
        .selectFrom('run_attempts')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('run_attempts.host', '=', 'hosts.id')
        .where('run_attempts.finished_at', 'is', null)
        .as('busy'),
      sql<boolean>`coalesce(hosts.seen_at > now() - make_interval(secs => ${HOST_LIVE_WITHIN_SEC}), false)`.as('live'),
    ])
    .orderBy('id')
    .execute()
  return rows.map((r) => ({ ...r, busy: Number(r.busy ?? 0) }))
}

/**
 * Places attempt `attempt` of a run on the live, healthy host with the most free slots (`exclude`
 * left out), recording it on the attempt (created if new, moved if already placed) and the run.
 * Returns the host's id, or null when every host is full or down. Placement decisions are
 * serialised by a transaction-scoped advisory lock, so two runs never take one last slot; the
 * whole decision is one call of the database's `place_attempt` (a migration), so the lock is held
 * for the server's work alone, not across a busy client's round trips.
 */
export async function placeAttempt(
  db: Db,
  runId: string,
  attempt: number,
  exclude: readonly string[] = [],
): Promise<string | null> {
  const { rows } = await sql<{ host: string | null }>`
    select place_attempt(${runId}::uuid, ${attempt}::integer, ${[...exclude]}::text[], ${HOST_LIVE_WITHIN_SEC}::integer) as host`.execute(
    db,
  )
  return rows[0]?.host ?? null
}
