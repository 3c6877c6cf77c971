/**
 * The API's token check kept in memory, over a real PostgreSQL: a kept check is forgotten on every
 * change to the tokens (the trigger's NOTIFY), whoever makes it; noting a token's use notifies
 * nobody; nothing is kept while the API is not listening; an unknown token costs one query, not
 * one per request, until the tokens change.
 */
import pg from 'pg'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cachedTokenCheck, type TokenCheck } from '../../src/api/token-cache.js'
import type { Db } from '../../src/db/database.js'
import type { Database } from '../../src/db/schema.js'
import { API_TOKENS_CHANNEL, createToken, hashToken, revokeToken } from '../../src/db/tokens.js'
import { eventually } from '../helpers/eventually.js'
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.js'

let tdb: TestDatabase
const closers: (() => Promise<void>)[] = []
beforeAll(async () => {
  tdb = await createTestDatabase()
})
afterAll(async () => {
  for (const close of closers) await close()
  await tdb?.drop()
})

/** How long, and how often, a check is tried again until a notice has reached it. */
const SOON = { timeoutMs: 2_000, everyMs: 10 }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Whether `check` keeps `token`'s check: a change made with the trigger off is not seen. Tried again
 * for a while, since a notice of an earlier change may still be on its way and make it forget.
 */
async function keeps(check: TokenCheck, token: { id: string; token: string }): Promise<boolean> {
  return eventually(
    async () => {
      const before = (await check.authenticate(token.token))!.admin
      await withTriggersOff(() =>
        tdb.db.updateTable('api_tokens').set({ admin: !before }).where('id', '=', token.id).execute(),
      )
      return (await check.authenticate(token.token))!.admin === before
    },
    (same) => same,
    SOON,
  )
}

/** A token check whose LISTEN is in place (it keeps what it checks), querying through `db`. */
async function listeningCheck(db: Db = tdb.db): Promise<TokenCheck> {
  const check = cachedTokenCheck(db, tdb.url, (err) => console.error(err))
  closers.push(() => check.close())
  const name = `probe-${Date.now()}`
  const probe = await createToken(tdb.db, name, false)
  expect(await keeps(check, probe)).toBe(true)
  await revokeToken(tdb.db, name)
  // Once the revocation's notice has arrived, no notice is on its way to make the check forget.
  expect(
    await eventually(
      () => check.authenticate(probe.token),
      (row) => row === undefined,
      SOON,
    ),
  ).toBeUndefined()
  return check
}

/** A change that notifies nobody: shows what a check kept. */
async function withTriggersOff<T>(change: () => Promise<T>): Promise<T> {
  await sql`alter table api_tokens disable trigger user`.execute(tdb.db)
  try {
    return await change()
  } finally {
    await sql`alter table api_tokens enable trigger user`.execute(tdb.db)
  }
}

describe('the token check kept in memory', () => {
  it('keeps a valid token, and forgets it when it is revoked', async () => {
    const check = await listeningCheck()
    const alice = await createToken(tdb.db, 'alice', false)
    expect((await check.authenticate(alice.token))?.name).toBe('alice')
    expect(await keeps(check, alice)).toBe(true)

    expect(await revokeToken(tdb.db, 'alice')).toBe(true)
    expect(
      await eventually(
        () => check.authenticate(alice.token),
        (row) => row === undefined,
        { timeoutMs: 1_000, everyMs: 10 },
      ),
    ).toBeUndefined()
  })

  it('forgets on a change made by hand in SQL, and on a new token', async () => {
    const check = await listeningCheck()
    const bob = await createToken(tdb.db, 'bob', false)
    expect((await check.authenticate(bob.token))?.admin).toBe(false)
    await sql`update api_tokens set admin = true where name = 'bob'`.execute(tdb.db)
    expect(
      await eventually(
        () => check.authenticate(bob.token),
        (row) => row?.admin === true,
        SOON,
      ),
    ).toMatchObject({
      admin: true,
    })
    await sql`delete from api_tokens where name = 'bob'`.execute(tdb.db)
    expect(
      await eventually(
        () => check.authenticate(bob.token),
        (row) => row === undefined,
        SOON,
      ),
    ).toBeUndefined()
  })

  it('knows whether any token is active, and learns of the first one at once', async () => {
    await sql`update api_tokens set revoked_at = now() where revoked_at is null`.execute(tdb.db)
    const check = await listeningCheck()
    expect(await check.anyActive()).toBe(false)
    await createToken(tdb.db, 'carol', false)
    expect(
      await eventually(
        () => check.anyActive(),
        (v) => v,
        SOON,
      ),
    ).toBe(true)
  })

  it('keeps an unknown token as unknown: asked again, it costs no query', async () => {
    let queries = 0
    const counted: Db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: tdb.pool }),
      log: (event) => void (event.level === 'query' && queries++),
    })
    const check = await listeningCheck(counted)
    queries = 0
    for (let i = 0; i < 20; i++) expect(await check.authenticate('hr_wrong-token')).toBeUndefined()
    expect(queries).toBe(1)
    for (let i = 0; i < 20; i++) expect(await check.authenticate(`hr_guess-${i}`)).toBeUndefined()
    expect(queries).toBe(21)
    // Made valid without a notice: still unknown here, as it was kept.
    const dave = await withTriggersOff(() => createToken(tdb.db, 'dave', false))
    await withTriggersOff(() =>
      tdb.db
        .updateTable('api_tokens')
        .set({ token_sha256: hashToken('hr_wrong-token') })
        .where('id', '=', dave.id)
        .execute(),
    )
    expect(await check.authenticate('hr_wrong-token')).toBeUndefined()
    expect(queries).toBe(21)
  })

  it('forgets an unknown token when the tokens change: a token made after a miss works at once', async () => {
    const check = await listeningCheck()
    const value = 'hr_made-after-a-miss'
    expect(await check.authenticate(value)).toBeUndefined()
    const erin = await createToken(tdb.db, 'erin', false)
    await sql`update api_tokens set token_sha256 = ${hashToken(value)} where id = ${erin.id}`.execute(tdb.db)
    // The notice arrives in milliseconds; the miss would otherwise be kept for 30 s.
    expect(
      await eventually(
        () => check.authenticate(value),
        (row) => row !== undefined,
        { timeoutMs: 1_000, everyMs: 10 },
      ),
    ).toMatchObject({ name: 'erin' })
  })

  it('keeps nothing while it cannot listen', async () => {
    const url = new URL(tdb.url)
    url.port = '1' // nothing listens there: its LISTEN never takes
    const check = cachedTokenCheck(tdb.db, url.toString(), () => {})
    closers.push(() => check.close())
    const gina = await createToken(tdb.db, 'gina', false)
    expect((await check.authenticate(gina.token))?.name).toBe('gina')
    await withTriggersOff(() => revokeToken(tdb.db, 'gina'))
    expect(await check.authenticate(gina.token)).toBeUndefined()
    // Nor an unknown token: made valid without a notice, it is found.
    expect(await check.authenticate('hr_unknown-while-deaf')).toBeUndefined()
    await withTriggersOff(() =>
      tdb.db
        .updateTable('api_tokens')
        .set({ token_sha256: hashToken('hr_unknown-while-deaf'), revoked_at: null })
        .where('id', '=', gina.id)
        .execute(),
    )
    expect((await check.authenticate('hr_unknown-while-deaf'))?.name).toBe('gina')
  })
})

describe('the api_tokens trigger', () => {
  it('notifies on every change to who may call, and not when a token is used', async () => {
    const client = new pg.Client({ connectionString: tdb.url })
    await client.connect()
    closers.push(() => client.end())
    let notices = 0
    client.on('notification', (m) => {
      if (m.channel === API_TOKENS_CHANNEL) notices++
    })
    await client.query(`LISTEN ${API_TOKENS_CHANNEL}`)
    const settle = async () => {
      await sleep(200)
      const n = notices
      notices = 0
      return n
    }
    const frank = await createToken(tdb.db, 'frank', false)
    expect(await settle()).toBe(1)
    await tdb.db
      .updateTable('api_tokens')
      .set({ last_used_at: sql`now()` })
      .where('id', '=', frank.id)
      .execute()
    expect(await settle()).toBe(0)
    await revokeToken(tdb.db, 'frank')
    expect(await settle()).toBe(1)
    await sql`delete from api_tokens where id = ${frank.id}`.execute(tdb.db)
    expect(await settle()).toBe(1)
  })
})
