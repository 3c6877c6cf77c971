/**
 * Who is calling. Every route but the health check needs an API token: `Authorization: Bearer
 * <token>`. A browser's EventSource and download links cannot set headers: they carry a ticket
 * instead (`?ticket=`, from `POST /api/stream-tickets`; src/api/tickets.ts), good for a minute and
 * for one URL. A token in the URL (`?access_token=`) is refused: URLs end up in histories and logs.
 * A token sees and cancels only the jobs it created; an admin token sees all. While no token exists
 * at all the API is open, and then only on a loopback address.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { endTime, startTime, type TimingVariables } from 'hono/timing'
import type { TokenCheck } from './token-cache.js'
import type { JobRow } from '../db/schema.js'
import { ApiError } from './errors.js'
import { readTicket, ticketPath, type TicketKey } from './tickets.js'

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

interface AuthOptions {
  tokens: TokenCheck
  openModeAllowed: boolean
  tickets: TicketKey
}

export function requireToken(options: AuthOptions): MiddlewareHandler<AppEnv> {
  return async function requireTokenMiddleware(c, next) {
    if (c.req.path === '/api/health') return next()
    if (c.req.query('access_token') !== undefined) {
      throw new ApiError(
        401,
        'token_in_query',
        'API tokens are not taken from the URL: send Authorization: Bearer <token>, or, where a browser cannot ' +
          '(EventSource, download links), a ticket from POST /api/stream-tickets as ?ticket=',
      )
    }
    startTime(c, 'auth', 'the token checked')
    try {
      c.set('principal', await principalOf(c, options))
    } finally {
      endTime(c, 'auth')
    }
    return next()
  }
}

async function principalOf(c: Context<AppEnv>, options: AuthOptions): Promise<Principal> {
  const header = c.req.header('Authorization')
  if (header !== undefined) {
    const match = /^Bearer ([\x21-\x7e]{1,256})$/.exec(header)
    if (!match) throw new ApiError(401, 'invalid_authorization', 'the Authorization header must be "Bearer <token>"')
    const row = await options.tokens.authenticate(match[1]!)
    if (!row) throw new ApiError(401, 'invalid_token', 'this API token is not valid (unknown or revoked)')
    return { tokenId: row.id, name: row.name, admin: row.admin }
  }
  const tickets = c.req.method === 'GET' || c.req.method === 'HEAD' ? c.req.queries('ticket') : undefined
  if (tickets) return ticketPrincipal(c, tickets, options)
  return openPrincipal(c, options)
}

/** The principal a ticket was issued to, if it is for this very URL, unexpired, and its token still active. */
async function ticketPrincipal(c: Context<AppEnv>, given: string[], options: AuthOptions): Promise<Principal> {
  const claims = given.length === 1 ? readTicket(options.tickets, given[0]!) : null
  if (!claims)
    throw new ApiError(401, 'invalid_ticket', 'this ticket is not valid: get one from POST /api/stream-tickets')
  if (Date.now() >= claims.expiresAt) {
    throw new ApiError(401, 'ticket_expired', 'this ticket has expired: get a new one from POST /api/stream-tickets')
  }
  if (c.req.path !== ticketPath(claims)) {
    throw new ApiError(
      403,
      'ticket_wrong_resource',
      `this ticket is for ${claims.purpose} at another URL, not this one`,
    )
  }
  if (claims.tokenId === null) return openPrincipal(c, options)
  const row = await options.tokens.findActive(claims.tokenId)
  if (!row) throw new ApiError(401, 'invalid_token', 'the API token this ticket was issued to is no longer valid')
  return { tokenId: row.id, name: row.name, admin: row.admin }
}

/** Open mode: everyone, as admin, while no token exists and the API listens on loopback only. */
async function openPrincipal(c: Context<AppEnv>, options: AuthOptions): Promise<Principal> {
  if (await options.tokens.anyActive()) {
    c.header('WWW-Authenticate', 'Bearer')
    throw new ApiError(401, 'token_required', 'this API needs a token: Authorization: Bearer <token>')
  }
  if (!options.openModeAllowed) {
    throw new ApiError(401, 'auth_not_configured', 'no API token exists; create one with `npm run token -- create`')
  }
  return OPEN
}

/** Whether `principal` may see (and cancel) `job`. */
export function canSee(principal: Principal, job: Pick<JobRow, 'owner_token_id'>): boolean {
  return principal.admin || job.owner_token_id === principal.tokenId
}
