/**
 * API tokens. A token is `hr_` + 32 random bytes (base64url); only its sha256 is stored, so a
 * database dump does not hold usable tokens. An admin token sees and cancels every job; any other
 * token only its own.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { Db } from './database.js'
import type { ApiTokenRow } from './schema.js'

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/

export async function createToken(db: Db, name: string, admin: boolean): Promise<{ id: string; token: string }> {
  const token = `hr_${randomBytes(32).toString('base64url')}`
  const id = randomUUID()
  await db
    .insertInto('api_tokens')
    .values({ id, name, admin, token_sha256: hashToken(token) })
    .execute()
  return { id, token }
}

/** Revokes the token named `name`; returns whether there was one to revoke. */
export async function revokeToken(db: Db, name: string): Promise<boolean> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: sql`now()` })
    .where('name', '=', name)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

export async function listTokens(db: Db): Promise<Omit<ApiTokenRow, 'token_sha256'>[]> {
  return db
    .selectFrom('api_tokens')
    .select(['id', 'name', 'admin', 'created_at', 'last_used_at', 'revoked_at'])
    .orderBy('created_at')
    .execute()
}

/** Notified by a trigger whenever a token is created, revoked or changed (not when one is used). */
export const API_TOKENS_CHANNEL = 'api_tokens'

/** The active token with this sha256 (`hashToken`), noting its use (at most once a minute). */
export async function authenticate(db: Db, tokenSha256: string): Promise<ApiTokenRow | undefined> {
  const row = await db
    .selectFrom('api_tokens')
    .selectAll()
    .where('token_sha256', '=', tokenSha256)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  if (row && (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000)) {
    await db
      .updateTable('api_tokens')
      .set({ last_used_at: sql`now()` })
      .where('id', '=', row.id)
      .execute()
  }
  return row
}

/** Whether any token is active: without one, the API runs open (and only on loopback). */
export async function anyActiveToken(db: Db): Promise<boolean> {
  const row = await db.selectFrom('api_tokens').select('id').where('revoked_at', 'is', null).limit(1).executeTakeFirst()
  return row !== undefined
}

/** The active token with this id (a ticket's issuer), or undefined once it is revoked or deleted. */
export async function findActiveToken(db: Db, id: string): Promise<ApiTokenRow | undefined> {
  return db.selectFrom('api_tokens').selectAll().where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()
}
