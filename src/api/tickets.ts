/**
 * Tickets: short-lived URLs for what a browser opens without headers (an EventSource, a download
 * link), so that the long-lived API token never travels in a URL (browser history, proxy and server
 * logs, Referer).
 *
 * A ticket names one purpose and one resource (a job's event stream; a run's log stream, whole log or
 * artifacts), the token it was issued to (none in open mode), and when it expires (a minute after
 * issuing). It is signed with HMAC-SHA256 under a key derived from the service's master key, so every
 * API replica reads every other's tickets without shared state. It holds no secret; it is valid
 * for its one URL until it expires (an EventSource reconnects with the same URL), and the token it
 * was issued to is checked again at each use, so a revoked token's tickets stop at once.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'

export const TICKET_PURPOSES = ['job_events', 'run_log_stream', 'run_log', 'run_artifacts'] as const
export type TicketPurpose = (typeof TICKET_PURPOSES)[number]

/** What a ticket opens: a job's event stream, or one of a run's. */
export interface TicketTarget {
  purpose: TicketPurpose
  jobId: string
  /** null for `job_events`. */
  runNumber: number | null
}

export interface TicketClaims extends TicketTarget {
  /** The token it was issued to; null in open mode. */
  tokenId: string | null
  /** Milliseconds since the epoch. */
  expiresAt: number
}

export const TICKET_TTL_MS = 60_000
/** Longer is not a ticket of ours: refused before any decoding. */
const MAX_TICKET_CHARS = 512

export type TicketKey = Buffer & { readonly __ticketKey: true }

/** The signing key: derived from the master key, for tickets only. */
export function ticketKey(masterKey: Buffer): TicketKey {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'harbor-runner api tickets v1', 32)) as TicketKey
}

export function issueTicket(key: TicketKey, claims: TicketClaims): string {
  const payload = Buffer.from(
    JSON.stringify([claims.purpose, claims.jobId, claims.runNumber, claims.tokenId, claims.expiresAt]),
  ).toString('base64url')
  return `${payload}.${sign(key, payload)}`
}

/** A ticket's claims if we signed it, else null (expiry is the caller's to check). */
export function readTicket(key: TicketKey, ticket: string): TicketClaims | null {
  if (ticket.length > MAX_TICKET_CHARS) return null
  const [payload, signature, ...rest] = ticket.split('.')
  if (!payload || !signature || rest.length > 0) return null
  const expected = Buffer.from(sign(key, payload))
  const given = Buffer.from(signature)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
  try {
    const [purpose, jobId, runNumber, tokenId, expiresAt] = JSON.parse(Buffer.from(payload, 'base64url').toString())
    return { purpose, jobId, runNumber, tokenId, expiresAt }
  } catch {
    return null
  }
}

function sign(key: TicketKey, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url')
}

/** The URL path a target is read at. */
export function ticketPath(target: TicketTarget): string {
  const run = `/api/jobs/${target.jobId}/runs/${target.runNumber}`
  switch (target.purpose) {
    case 'job_events':
      return `/api/jobs/${target.jobId}/events`
    case 'run_log_stream':
      return `${run}/logs/stream`
    case 'run_log':
      return `${run}/logs`
    case 'run_artifacts':
      return `${run}/artifacts`
  }
}
