/**
 * What keeps web pages the user opens from using the API through their browser.
 *
 * - `Host`: a DNS-rebinding page reaches this port under its own name (`attacker.example`, made to
 *   resolve to 127.0.0.1), which makes it same-origin with the API in the browser's eyes and lets it
 *   read every answer. Such requests carry that name in `Host`: only the names the API is configured
 *   to answer to pass (`config.api.allowedHosts`). The answer is `421 host_not_allowed`: 421
 *   Misdirected Request says the request reached a server that does not serve that name, which is
 *   the case, where a 400 would blame its syntax. The health check and `/metrics` pass under any
 *   name: load balancers and scrapers address a process by its IP or service name, and neither
 *   shows a job, a log or a secret (`/metrics` has its own METRICS_TOKEN).
 * - `Origin`: a page may send a multipart POST to any address without asking (a CORS "simple"
 *   request), and in open mode that needs no token. A change (any method but GET, HEAD and OPTIONS)
 *   that a browser marks as coming from another origin is refused, `403 origin_not_allowed`: its
 *   `Origin` is neither this API's own (its host and port are the request's `Host`) nor one of
 *   `config.api.allowedOrigins`; or, without `Origin`, its `Sec-Fetch-Site` is `cross-site` or
 *   `same-site`. Requests that carry neither (curl, the CLI, servers) are not a browser's, and pass.
 *
 * The scheme is not compared: a TLS proxy in front makes the API see `http` where the page is
 * `https`; the host and port are what tell another site apart. No answer ever carries CORS headers,
 * so a GET from another origin is sent but its answer cannot be read.
 */
import type { MiddlewareHandler } from 'hono'
import { parseHostName, parseOrigin, type HostName } from '../config.js'
import { ApiError } from './errors.js'

/** Routes machines call by address: they answer under any `Host`. */
const ANY_HOST = new Set(['/api/health', '/metrics'])
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function requireAllowedHost(allowed: readonly HostName[]): MiddlewareHandler {
  return async function allowedHostMiddleware(c, next) {
    if (ANY_HOST.has(c.req.path)) return next()
    // The name the request was sent to: its `Host`, and the URL the server made of it (an
    // absolute-form request line names its own host); both must be allowed.
    const names = [c.req.header('host'), new URL(c.req.url).host].filter((h): h is string => h !== undefined)
    for (const name of names) {
      const host = parseHostName(name)
      if (!host || !allowed.some((a) => a.name === host.name && portMatches(a.port, host.port))) {
        throw new ApiError(
          421,
          'host_not_allowed',
          `this API does not answer to the host name "${name.slice(0, 100)}"; add it to API_ALLOWED_HOSTS if it should`,
        )
      }
    }
    return next()
  }
}

/** A pattern's port (null: any) against a `Host`'s (null: left out, as browsers do for 80 and 443). */
function portMatches(pattern: number | null, given: number | null): boolean {
  return pattern === null || pattern === given || (given === null && (pattern === 80 || pattern === 443))
}

export function requireSameOrigin(allowedOrigins: readonly string[]): MiddlewareHandler {
  return async function sameOriginMiddleware(c, next) {
    if (SAFE_METHODS.has(c.req.method)) return next()
    const origin = c.req.header('origin')
    if (origin !== undefined) {
      // (`null`, the origin of opaque pages, is no origin: refused.)
      const theirs = parseOrigin(origin)
      const own = c.req.header('host') ?? new URL(c.req.url).host
      if (!theirs || (!sameOrigin(theirs, own) && !allowedOrigins.includes(theirs))) {
        throw new ApiError(
          403,
          'origin_not_allowed',
          `changes are not taken from pages of another origin (${origin.slice(0, 100)}); ` +
            'add it to API_ALLOWED_ORIGINS if it is this service behind a proxy',
        )
      }
      return next()
    }
    const site = c.req.header('sec-fetch-site')
    if (site === 'cross-site' || site === 'same-site') {
      throw new ApiError(403, 'origin_not_allowed', 'changes are not taken from pages of another site')
    }
    return next()
  }
}

/** Whether `origin` (an `http(s)://host[:port]` origin) is at the request's `Host`. */
function sameOrigin(origin: string, host: string): boolean {
  const own = parseHostName(host)
  const theirs = parseHostName(new URL(origin).host)
  return own !== null && theirs !== null && own.name === theirs.name && own.port === theirs.port
}
