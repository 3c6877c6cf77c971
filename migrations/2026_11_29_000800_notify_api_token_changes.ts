import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

export async function up(db: Kysely<any>): Promise<void> {
  // Every change to who may call the API (a token created, revoked, deleted, renamed or made admin,
  // by the admin command or by hand in SQL) notifies `api_tokens`, so that an API that keeps token
  // checks in memory forgets them at once. Noting a token's use (last_used_at) does not.
  await sql`create function api_tokens_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('api_tokens', '');
      return null;
    end
  $$`.execute(db)
  await sql`create trigger api_tokens_added_or_removed
    after insert or delete or truncate on api_tokens
    for each statement execute function api_tokens_notify()`.execute(db)
  await sql`create trigger api_tokens_changed
    after update of id, name, token_sha256, admin, revoked_at on api_tokens
    for each statement execute function api_tokens_notify()`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger api_tokens_changed on api_tokens`.execute(db)
  await sql`drop trigger api_tokens_added_or_removed on api_tokens`.execute(db)
  await sql`drop function api_tokens_notify()`.execute(db)
}
