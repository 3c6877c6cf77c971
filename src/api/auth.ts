/**
 * Who is calling. Every route but the health check needs an API token: `Authorization: Bearer
 * <token>`, or, for GET requests a browser makes without headers (an EventSource, a download link),
 * `?access_token=<token>`. A token sees and cancels only the jobs it created; an admin token sees
 * all. While no token exists at all the API is open, and then only on a loopback address.
 */
import type { MiddlewareHandler } from 'hono'
import { endTime, startTime, type TimingVariables } from 'hono/timing'
import type { TokenCheck } from './token-cache.js'
import type { JobRow } from '../db/schema.js'
import { ApiError } from './errors.js'

export interface Principal {
  /** null in open mode (no token exists). */
  tokenId: string | null
  name: string
  admin: boolean
}

export interface AppEnv {
  Variables: { principal: Principal } & TimingVariables
}

const OPEN: Principal = { tokenId: null, name: 'anonymous', admin: true }

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

export function requireToken(options: { tokens: TokenCheck; openModeAllowed: boolean }): MiddlewareHandler<AppEnv> {
  return async function requireTokenMiddleware(c, next) {
    if (c.req.path === '/api/health') return next()
    const header = c.req.header('Authorization')
    const fromQuery = c.req.method === 'GET' ? c.req.query('access_token') : undefined
    let token: string | undefined
    if (header !== undefined) {
      const match = /^Bearer ([\x21-\x7e]{1,256})$/.exec(header)
      if (!match) throw new ApiError(401, 'invalid_authorization', 'the Authorization header must be "Bearer <token>"')
      token = match[1]
    } else if (fromQuery) {
      token = fromQuery
    }
    startTime(c, 'auth', 'the token checked')
    if (token !== undefined) {
      const row = await options.tokens.authenticate(token)
      endTime(c, 'auth')
      if (!row) throw new ApiError(401, 'invalid_token', 'this API token is not valid (unknown or revoked)')
      c.set('principal', { tokenId: row.id, name: row.name, admin: row.admin })
      return next()
    }
    const tokensExist = await options.tokens.anyActive()
    endTime(c, 'auth')
    if (tokensExist) {
      c.header('WWW-Authenticate', 'Bearer')
      throw new ApiError(401, 'token_required', 'this API needs a token: Authorization: Bearer <token>')
    }
    if (!options.openModeAllowed) {
      throw new ApiError(401, 'auth_not_configured', 'no API token exists; create one with `npm run token -- create`')
    }
    c.set('principal', OPEN)
    return next()
  }
}

/** Whether `principal` may see (and cancel) `job`. */
export function canSee(principal: Principal, job: Pick<JobRow, 'owner_token_id'>): boolean {
  return principal.admin || job.owner_token_id === principal.tokenId
}
