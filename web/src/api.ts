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

/** What a browser opens without headers (an EventSource, a download), named for a ticket. */
export type TicketTarget =
  | { purpose: 'job_events'; job_id: string }
  | { purpose: 'run_log_stream' | 'run_log' | 'run_artifacts'; job_id: string; run_number: number }

/**
 * A URL for `target` that needs no header: its path with a ticket the API gives for it (good for a
 * minute, for that URL only), so that the token itself never goes into a URL.
 */
export async function ticketUrl(target: TicketTarget, params: Record<string, string> = {}): Promise<string> {
  const { url } = await api<{ url: string }>('/api/stream-tickets', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(target),
  })
  const full = new URL(url, location.origin)
  for (const [k, v] of Object.entries(params)) full.searchParams.set(k, v)
  return full.pathname + full.search
}

/** Downloads `target` through a fresh ticket (a link's own URL would need the token). */
export async function download(target: TicketTarget, filename: string): Promise<void> {
  const link = document.createElement('a')
  link.href = await ticketUrl(target)
  link.download = filename
  link.click()
}

export interface Follow {
  close(): void
}

/**
 * Follows an SSE stream. EventSource reconnects by itself with Last-Event-ID after a dropped
 * connection (with the same URL: its ticket holds for a minute); when it gives up (the server answered
 * an error, such as an expired ticket, or restarted badly) we open a new one with a new ticket from
 * the last id seen, so no event is lost or repeated. `end` closes it for good.
 */
export function follow(
  target: TicketTarget,
  handlers: Record<string, (data: any, id: number | null) => void>,
  onState: (state: 'live' | 'reconnecting' | 'ended') => void = () => {},
): Follow {
  let lastId: string | null = null
  let source: EventSource | null = null
  let closed = false
  let retry: number | undefined
  const again = () => {
    onState('reconnecting')
    retry = window.setTimeout(() => void open(), 2000)
  }
  const open = async () => {
    let url: string
    try {
      url = await ticketUrl(target, lastId ? { last_event_id: lastId } : {})
    } catch {
      if (!closed) again()
      return
    }
    if (closed) return
    source = new EventSource(url)
    source.onopen = () => onState('live')
    source.onerror = () => {
      if (closed) return
      if (source?.readyState === EventSource.CLOSED) again()
      else onState('reconnecting')
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
  void open()
  return {
    close() {
      closed = true
      window.clearTimeout(retry)
      source?.close()
    },
  }
}
