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
 * serialised by a transaction-scoped advisory lock, so two runs never take one last slot.
 */
export async function placeAttempt(
  db: Db,
  runId: string,
  attempt: number,
  exclude: readonly string[] = [],
): Promise<string | null> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('harbor-runner:placement'))`.execute(trx)
    // Already placed (a retried activity): keep it there.
    const existing = await trx
      .selectFrom('run_attempts')
      .select('host')
      .where('run_id', '=', runId)
      .where('attempt', '=', attempt)
      .where('finished_at', 'is', null)
      .executeTakeFirst()
    if (existing && !exclude.includes(existing.host)) return existing.host

    const candidates = await trx
      .selectFrom('hosts')
      .select((eb) => [
        'hosts.id',
        sql<number>`hosts.slots - ${eb
          .selectFrom('run_attempts')
          .select((e) => e.fn.countAll<number>().as('n'))
          .whereRef('run_attempts.host', '=', 'hosts.id')
          .where('run_attempts.finished_at', 'is', null)}`.as('free'),
      ])
      .where('hosts.healthy', '=', true)
      .where(sql<boolean>`hosts.seen_at > now() - make_interval(secs => ${HOST_LIVE_WITHIN_SEC})`)
      .execute()
    // A host to avoid (it did not take up the attempt in time) is still used when it is the only live
    // one with room: a host that is slow under load but announced is better than waiting for none.
    // Its slot held by this very attempt's unfinished record counts as free for it.
    const free = candidates
      .map((c) => ({ id: c.id, free: Number(c.free) + (existing?.host === c.id ? 1 : 0) }))
      .filter((c) => c.free > 0)
      .sort((a, b) => b.free - a.free || a.id.localeCompare(b.id))
    const best = free.find((c) => !exclude.includes(c.id)) ?? free[0]
    if (!best) return null

    // The slot is taken now, under the lock: not at now(), when this transaction began waiting for it.
    const takenAt = sql<Date>`clock_timestamp()`
    await trx
      .insertInto('run_attempts')
      .values({ run_id: runId, attempt, host: best.id, started_at: takenAt })
      .onConflict((oc) => oc.columns(['run_id', 'attempt']).doUpdateSet({ host: best.id, started_at: takenAt }))
      .execute()
    await trx
      .updateTable('runs')
      .set({ attempts: sql`greatest(attempts, ${attempt})`, host: best.id, updated_at: sql`now()` })
      .where('id', '=', runId)
      .execute()
    return best.id
  })
}
