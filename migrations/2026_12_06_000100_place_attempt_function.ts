import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

export async function up(db: Kysely<any>): Promise<void> {
  // Placement in one round trip: the advisory lock is taken and released inside one statement, so
  // it is held for the server's own work (about a millisecond), not across the round trips of a
  // client that may be waiting for a CPU. Each statement of a function takes a fresh snapshot, so
  // the slots counted after the lock include every placement committed before it.
  await sql`create function place_attempt(p_run_id uuid, p_attempt integer, p_exclude text[], p_live_within_sec integer)
    returns text language plpgsql as $$
    declare
      v_existing text;
      v_host text;
    begin
      perform pg_advisory_xact_lock(hashtext('harbor-runner:placement'));
      -- Already placed (a retried activity): keep it there.
      select host into v_existing from run_attempts
        where run_id = p_run_id and attempt = p_attempt and finished_at is null;
      if v_existing is not null and not (v_existing = any(p_exclude)) then
        return v_existing;
      end if;
      -- The live, healthy host with the most free slots; one to avoid only when it is the only one
      -- with room. The slot held by this very attempt's unfinished record counts as free for it.
      select h.id into v_host
        from hosts h
        cross join lateral (
          select h.slots - count(*) + (case when h.id = v_existing then 1 else 0 end) as free
          from run_attempts a where a.host = h.id and a.finished_at is null
        ) f
        where h.healthy and h.seen_at > now() - make_interval(secs => p_live_within_sec) and f.free > 0
        order by (h.id = any(p_exclude)), f.free desc, h.id
        limit 1;
      if v_host is null then
        return null;
      end if;
      -- The slot is taken now, under the lock: not when the statement began waiting for it.
      insert into run_attempts (run_id, attempt, host, started_at)
        values (p_run_id, p_attempt, v_host, clock_timestamp())
        on conflict (run_id, attempt) do update set host = excluded.host, started_at = excluded.started_at;
      update runs set attempts = greatest(attempts, p_attempt), host = v_host, updated_at = now()
        where id = p_run_id;
      return v_host;
    end
  $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function place_attempt(uuid, integer, text[], integer)`.execute(db)
}
