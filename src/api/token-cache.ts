/**
 * The token check of every request, kept in memory so that a request costs no database round trip
 * for it (under load each round trip also waits for a CPU twice: PostgreSQL's, then the API's).
 *
 * Never stale beyond a NOTIFY's delivery: a trigger notifies `api_tokens` on every change to who may
 * call (a token created, revoked, deleted or changed, by the admin command or by hand), and the API
 * forgets everything it kept when told. It keeps nothing while its LISTEN is not in place (so a
 * dropped connection cannot hide a revocation), nor a check begun before the last change, nor an
 * unknown token (so guessing cannot fill its memory). A kept token is checked again after a minute,
 * which also notes its use (`last_used_at`).
 */
import { listen } from '../db/listen.js'
import type { Db } from '../db/database.js'
import type { ApiTokenRow } from '../db/schema.js'
import { anyActiveToken, API_TOKENS_CHANNEL, authenticate, hashToken } from '../db/tokens.js'

export interface TokenCheck {
  /** The active token with this value, or undefined. */
  authenticate(token: string): Promise<ApiTokenRow | undefined>
  /** Whether any token is active (without one the API runs open, on loopback only). */
  anyActive(): Promise<boolean>
  close(): Promise<void>
}

/** How long a kept check holds before it is made again (and the token's use noted). */
const KEEP_MS = 60_000
/** Tokens kept at most; past it, all are forgotten (a real deployment has a handful). */
const MAX_KEPT = 10_000

export function cachedTokenCheck(db: Db, databaseUrl: string, onError: (err: unknown) => void): TokenCheck {
  let listening = false
  /** Bumped by every change: a check begun before it is not kept. */
  let generation = 0
  const kept = new Map<string, { row: ApiTokenRow; at: number }>()
  let active: { value: boolean; at: number } | null = null
  const forget = () => {
    generation++
    kept.clear()
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

  return {
    async authenticate(token) {
      const sha256 = hashToken(token)
      const hit = kept.get(sha256)
      if (hit && fresh(hit.at)) return hit.row
      const begun = generation
      const row = await authenticate(db, sha256)
      if (row && listening && begun === generation) {
        if (kept.size >= MAX_KEPT) kept.clear()
        kept.set(sha256, { row, at: Date.now() })
      }
      return row
    },
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
