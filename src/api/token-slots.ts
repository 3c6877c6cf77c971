/**
 * At most so many long requests of one kind (event streams, uploads) per token at once, so that one
 * client cannot hold all of the API's connections, memory or disk. Open mode counts as one token.
 *
 * Counted in this API process's memory: behind a load balancer each replica counts its own, so a
 * token may hold up to the limit on each. A slot is taken when the request is let in and given back
 * when it ends, whichever way: finished, failed, or abandoned by the client.
 */
import type { Context } from 'hono'
import type { AppEnv } from './auth.js'
import { ApiError } from './errors.js'

export interface TokenSlots {
  /** Takes one of the caller's slots, or throws a 429; the function gives it back (once). */
  take(c: Context<AppEnv>): () => void
}

export function tokenSlots(options: {
  limit: number
  code: string
  /** What is counted, for the message: "event streams open". */
  what: string
  variable: string
  retryAfterSec: number
}): TokenSlots {
  const held = new Map<string, number>()
  return {
    take(c) {
      const key = c.get('principal').tokenId ?? ''
      const now = held.get(key) ?? 0
      if (now >= options.limit) {
        c.header('Retry-After', String(options.retryAfterSec))
        throw new ApiError(
          429,
          options.code,
          `this token has ${now} ${options.what}, the most it may have at once (${options.variable}); ` +
            'close one, or try again later',
        )
      }
      held.set(key, now + 1)
      let given = false
      return () => {
        if (given) return
        given = true
        const left = (held.get(key) ?? 1) - 1
        if (left > 0) held.set(key, left)
        else held.delete(key)
      }
    },
  }
}
