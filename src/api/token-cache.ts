/**
 * The token check of every request, kept in memory so that a request costs no database round trip
 * for it (under load each round trip also waits for a CPU twice: PostgreSQL's, then the API's).
 *
 * Never stale beyond a NOTIFY's delivery: a trigger notifies `api_tokens` on every change to who may
 * call (a token created, revoked, deleted or changed, by the admin command or by hand), and the API
 * forgets everything it kept when told. It keeps nothing while its LISTEN is not in place (so a
 * dropped connection cannot hide a revocation), nor a check begun before the last change. A kept
 * token is checked again after a minute, which also notes its use (`last_used_at`).
 *
 * An unknown token is kept as unknown for 30 s, so that a client retrying a wrong token (or guessing)
 * costs no query each time; at most 10 000 of them, the oldest dropped first, so guessing cannot fill
 * the memory. They are forgotten with the rest at every change, so a token created after its value
 * was refused works as soon as the notice arrives.
 */
import { listen } from '../db/listen.js'
import type { Db } from '../db/database.js'
import type { ApiTokenRow } from '../db/schema.js'
import { anyActiveToken, API_TOKENS_CHANNEL, authenticate, findActiveToken, hashToken } from '../db/tokens.js'

export interface TokenCheck {
  /** The active token with this value, or undefined. */
  authenticate(token: string): Promise<ApiTokenRow | undefined>
  /** The active token with this id (a ticket's issuer), or undefined; always from the database. */
  findActive(id: string): Promise<ApiTokenRow | undefined>
  /** Whether any token is active (without one the API runs open, on loopback only). */
  anyActive(): Promise<boolean>
  close(): Promise<void>
}

/** How long a kept check holds before it is made again (and the token's use noted). */
const KEEP_MS = 60_000
/** Tokens kept at most; past it, all are forgotten (a real deployment has a handful). */
const MAX_KEPT = 10_000
/** How long an unknown token is kept as unknown, and how many at most (the oldest dropped first). */
const UNKNOWN_KEEP_MS = 30_000
const MAX_UNKNOWN = 10_000

export function cachedTokenCheck(db: Db, databaseUrl: string, onError: (err: unknown) => void): TokenCheck {
  let listening = false
  /** Bumped by every change: a check begun before it is not kept. */
  let generation = 0
  const kept = new Map<string, { row: ApiTokenRow; at: number }>()
  /** sha256 → when it was found unknown; in the order they were found. */
  const unknown = new Map<string, number>()
  let active: { value: boolean; at: number } | null = null
  const forget = () => {
    generation++
    kept.clear()
    unknown.clear()
    active = null
  }
  const listener = listen(databaseUrl, API_TOKENS_CHANNEL, {
    onPayload: forget,
    onListening: () => {
      forget()
      listening = true
    },
    onLost: () => {
      listening = false
      forget()
    },
    onError,
  })
  const fresh = (at: number) => listening && Date.now() - at < KEEP_MS
  const keepUnknown = (sha256: string) => {
    unknown.delete(sha256)
    if (unknown.size >= MAX_UNKNOWN) unknown.delete(unknown.keys().next().value!)
    unknown.set(sha256, Date.now())
  }

  return {
    async authenticate(token) {
      const sha256 = hashToken(token)
      const hit = kept.get(sha256)
      if (hit && fresh(hit.at)) return hit.row
      const miss = unknown.get(sha256)
      if (miss !== undefined && listening && Date.now() - miss < UNKNOWN_KEEP_MS) return undefined
      const begun = generation
      const row = await authenticate(db, sha256)
      if (listening && begun === generation) {
        if (row) {
          if (kept.size >= MAX_KEPT) kept.clear()
          kept.set(sha256, { row, at: Date.now() })
        } else {
          keepUnknown(sha256)
        }
      }
      return row
    },
    findActive: (id) => findActiveToken(db, id),
    async anyActive() {
      if (active && fresh(active.at)) return active.value
      const begun = generation
      const value = await anyActiveToken(db)
      if (listening && begun === generation) active = { value, at: Date.now() }
      return value
    },
    async close() {
      await listener.close()
      forget()
    },
  }
}
