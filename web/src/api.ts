/**
 * The API, from the browser. The token lives in sessionStorage (this tab only); the OpenRouter key
 * is never stored: it goes from the form straight into the upload request.
 */
const TOKEN_KEY = 'harbor-runner-token'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
  else sessionStorage.removeItem(TOKEN_KEY)
}

function authHeaders(): Record<string, string> {
  const token = getToken()
  return token ? { Authorization: `Bearer ${token}` } : {}
}

async function errorOf(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as {
    error?: { code: string; message: string; field?: string }
  } | null
  const e = body?.error
  const err = new ApiError(
    res.status,
    e?.code ?? 'http_error',
    e?.message ?? `${res.status} ${res.statusText}`,
    e?.field,
  )
  if (res.status === 401) window.dispatchEvent(new CustomEvent('auth-needed', { detail: err }))
  return err
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string>) } })
  if (!res.ok) throw await errorOf(res)
  return (await res.json()) as T
}

/** Uploads with progress (fetch cannot report upload progress; XMLHttpRequest can). */
export function uploadForm(form: FormData, onProgress: (fraction: number) => void): Promise<any> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', '/api/upload')
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v)
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total)
    xhr.onerror = () => reject(new ApiError(0, 'network_error', 'the upload did not reach the server'))
    xhr.onload = () => {
      const res = new Response(xhr.responseText, { status: xhr.status })
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText))
      else void errorOf(res).then(reject)
    }
    xhr.send(form)
  })
}

/** A URL a browser can open without headers (EventSource, download links): the token as a query parameter. */
export function withToken(path: string, params: Record<string, string> = {}): string {
  const url = new URL(path, location.origin)
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  const token = getToken()
  if (token) url.searchParams.set('access_token', token)
  return url.pathname + url.search
}

export interface Follow {
  close(): void
}

/**
 * Follows an SSE stream. EventSource reconnects by itself with Last-Event-ID after a dropped
 * connection; when it gives up (the server answered an error, or restarted badly) we open a new one
 * from the last id seen, so no event is lost or repeated. `end` closes it for good.
 */
export function follow(
  path: string,
  handlers: Record<string, (data: any, id: number | null) => void>,
  onState: (state: 'live' | 'reconnecting' | 'ended') => void = () => {},
): Follow {
  let lastId: string | null = null
  let source: EventSource | null = null
  let closed = false
  let retry: number | undefined
  const open = () => {
    source = new EventSource(withToken(path, lastId ? { last_event_id: lastId } : {}))
    source.onopen = () => onState('live')
    source.onerror = () => {
      if (closed) return
      onState('reconnecting')
      if (source?.readyState === EventSource.CLOSED) {
        retry = window.setTimeout(open, 2000)
      }
    }
    for (const [event, handle] of Object.entries(handlers)) {
      source.addEventListener(event, (e) => {
        const m = e as MessageEvent<string>
        if (m.lastEventId) lastId = m.lastEventId
        let data: unknown = m.data
        try {
          data = JSON.parse(m.data)
        } catch {
          // plain text
        }
        handle(data, m.lastEventId ? Number(m.lastEventId) : null)
      })
    }
    source.addEventListener('end', () => {
      closed = true
      source?.close()
      onState('ended')
    })
  }
  open()
  return {
    close() {
      closed = true
      window.clearTimeout(retry)
      source?.close()
    },
  }
}
