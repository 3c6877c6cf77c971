import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

export async function up(db: Kysely<any>): Promise<void> {
  // API tokens, stored as sha256 of the token: the token itself is shown once, when created.
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('token_sha256', 'text', (col) => col.notNull().unique())
    .addColumn('admin', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute()
  // A name belongs to one active token at a time; a revoked token's name can be given again.
  await db.schema
    .createIndex('api_tokens_active_name_idx')
    .on('api_tokens')
    .column('name')
    .unique()
    .where(sql.ref('revoked_at'), 'is', null)
    .execute()

  await db.schema
    .alterTable('jobs')
    .addColumn('owner_token_id', 'uuid', (col) => col.references('api_tokens.id'))
    .execute()
  // An Idempotency-Key is the caller's own: two tokens may use the same one (open mode is one owner).
  await db.schema.alterTable('jobs').dropConstraint('jobs_idempotency_key_key').execute()
  await sql`create unique index jobs_owner_idempotency_idx on jobs
    (coalesce(owner_token_id, '00000000-0000-0000-0000-000000000000'::uuid), idempotency_key)
    where idempotency_key is not null`.execute(db)
  await db.schema.createIndex('jobs_owner_idx').on('jobs').columns(['owner_token_id', 'status']).execute()

  // Bytes kept of each run's log, and whether the log limit cut it.
  await db.schema
    .alterTable('runs')
    .addColumn('log_bytes', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute()
  await db.schema
    .alterTable('runs')
    .addColumn('log_cut', 'boolean', (col) => col.notNull().defaultTo(false))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('runs').dropColumn('log_cut').execute()
  await db.schema.alterTable('runs').dropColumn('log_bytes').execute()
  await db.schema.dropIndex('jobs_owner_idx').execute()
  await db.schema.dropIndex('jobs_owner_idempotency_idx').execute()
  await db.schema.alterTable('jobs').addUniqueConstraint('jobs_idempotency_key_key', ['idempotency_key']).execute()
  await db.schema.alterTable('jobs').dropColumn('owner_token_id').execute()
  await db.schema.dropTable('api_tokens').execute()
}
