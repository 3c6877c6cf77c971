import { type Kysely, sql } from 'kysely'

// Frozen in time: migrations use Kysely<any> and import nothing from src/.

/**
 * The harness phase a `phase` line moves its run into, resolved by the harness's driver as the line
 * is written (readers take it as stored). The lines already written get theirs here: a Harbor phase
 * event's by its event (the table as it stands now), our own `phase_changed` event's from its `phase`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('run_log_lines').addColumn('phase', 'text').execute()
  await sql`
    update run_log_lines set phase = coalesce(
      case substring(line from '"event": *"([A-Za-z_]+)"')
        when 'trial_started' then 'environment_setup'
        when 'environment_started' then 'environment_setup'
        when 'agent_setup_started' then 'agent_setup'
        when 'agent_started' then 'agent'
        when 'agent_ended' then 'agent'
        when 'verification_started' then 'verifier'
        when 'trial_cancelled' then 'cancelling'
        when 'trial_ended' then 'finishing'
      end,
      substring(line from '"phase": *"([A-Za-z_]+)"')
    )
    where stream = 'phase'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('run_log_lines').dropColumn('phase').execute()
}
