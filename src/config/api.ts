/** The API's address, and the names and origins browsers may reach it by. */
import { z } from 'zod'
import { port, splitList, type EnvOf } from './common.js'

export const apiEnv = {
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(8000),
  API_ALLOWED_HOSTS: z
    .string()
    .refine(
      (v) => splitList(v).every((h) => parseHostName(h) !== null),
      'must be host names, each with an optional :port',
    )
    .optional(),
  API_ALLOWED_ORIGINS: z
    .string()
    .refine((v) => splitList(v).every((o) => parseOrigin(o) !== null), 'must be origins: http(s)://host[:port]')
    .optional(),
}

export interface ApiConfig {
  readonly host: string
  readonly port: number
  /**
   * The names requests may give in `Host`: the loopback names, API_HOST unless it is a wildcard,
   * and API_ALLOWED_HOSTS. Any other is refused (a DNS-rebinding page gives its own name).
   */
  readonly allowedHosts: readonly HostName[]
  /** Origins besides the API's own that may send changes (API_ALLOWED_ORIGINS), as `URL.origin`. */
  readonly allowedOrigins: readonly string[]
}

/** A name the API answers to in `Host`: on any port (`port` null), or on one. */
export interface HostName {
  /** Lowercase; an IPv6 address in brackets, as `Host` gives it. */
  readonly name: string
  readonly port: number | null
}

export function apiConfig(e: EnvOf<typeof apiEnv>): ApiConfig {
  return {
    host: e.API_HOST,
    port: e.API_PORT,
    allowedHosts: allowedHosts(e.API_HOST, e.API_ALLOWED_HOSTS),
    allowedOrigins: splitList(e.API_ALLOWED_ORIGINS ?? '').map((o) => parseOrigin(o)!),
  }
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']
/** API_HOST values that name no host: listening on every address. */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]'])

/** The loopback names, API_HOST unless a wildcard, and API_ALLOWED_HOSTS; each once. */
function allowedHosts(apiHost: string, extra: string | undefined): HostName[] {
  const own = WILDCARDS.has(apiHost)
    ? []
    : [apiHost.includes(':') && !apiHost.startsWith('[') ? `[${apiHost}]` : apiHost]
  const names = [...LOOPBACK_NAMES, ...own].flatMap((n) => parseHostName(n) ?? [])
  for (const entry of splitList(extra ?? '')) names.push(parseHostName(entry)!)
  return names.filter((h, i) => names.findIndex((o) => o.name === h.name && o.port === h.port) === i)
}

/** `name`, `name:port`, `[v6]` or `[v6]:port`, as a `Host` header gives them; null if not one. */
export function parseHostName(text: string): HostName | null {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)(?::(\d{1,5}))?$/.exec(text.toLowerCase())
  if (!match) return null
  const port = match[2] === undefined ? null : Number(match[2])
  if (port !== null && (port < 1 || port > 65535)) return null
  return { name: match[1]!, port }
}

/** `http(s)://host[:port]` and nothing more, as its `URL.origin`; null if not one. */
export function parseOrigin(text: string): string | null {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return null
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
  // Nothing but scheme, host and port: no path, query, fragment or credentials.
  if (!/^https?:\/\/[^/?#@]+\/?$/i.test(text)) return null
  return url.origin
}
