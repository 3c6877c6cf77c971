/** Talking to the API under test over real HTTP. */

export interface UploadInput {
  file?: Buffer
  filename?: string
  fields?: Record<string, string>
  headers?: Record<string, string>
}

export async function upload(baseUrl: string, input: UploadInput): Promise<{ status: number; body: any }> {
  const form = new FormData()
  if (input.file) form.append('file', new Blob([input.file], { type: 'application/zip' }), input.filename ?? 'task.zip')
  for (const [k, v] of Object.entries(input.fields ?? {})) form.append(k, v)
  const res = await fetch(`${baseUrl}/api/upload`, { method: 'POST', body: form, headers: input.headers })
  return { status: res.status, body: await res.json() }
}

export async function getJson(baseUrl: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}${path}`)
  return { status: res.status, body: await res.json() }
}

/** Polls the job until `done(job)` or the timeout. */
export async function waitForJob(
  baseUrl: string,
  jobId: string,
  done: (job: any) => boolean,
  timeoutMs = 120_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { body } = await getJson(baseUrl, `/api/jobs/${jobId}`)
    if (done(body)) return body
    if (Date.now() > deadline)
      throw new Error(`job ${jobId} did not reach the expected state: ${JSON.stringify(body).slice(0, 2000)}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

export interface SseEvent {
  id: string | null
  event: string
  data: any
  /** When the client received it. */
  at: number
}

/**
 * Reads a Server-Sent Events stream until it ends (or `stopWhen` says so), parsing events as they
 * arrive. Resolves with the events and whether the server ended the stream.
 */
export async function readSse(
  url: string,
  options: {
    lastEventId?: string
    stopWhen?: (e: SseEvent, all: SseEvent[]) => boolean
    timeoutMs?: number
    /** Stops reading when aborted, as the timeout does. */
    signal?: AbortSignal
  } = {},
): Promise<{ events: SseEvent[]; ended: boolean }> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 120_000)
  options.signal?.addEventListener('abort', () => controller.abort(), { once: true })
  const events: SseEvent[] = []
  try {
    const res = await fetch(url, {
      headers: options.lastEventId ? { 'Last-Event-ID': options.lastEventId } : {},
      signal: controller.signal,
    })
    if (res.status !== 200) throw new Error(`SSE request answered ${res.status}: ${await res.text()}`)
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let split: number
      while ((split = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, split)
        buffer = buffer.slice(split + 2)
        const event = parseBlock(block)
        if (!event) continue
        events.push(event)
        if (options.stopWhen?.(event, events)) {
          controller.abort()
          return { events, ended: false }
        }
      }
    }
    return { events, ended: true }
  } catch (err) {
    if (controller.signal.aborted && events.length > 0) return { events, ended: false }
    throw err
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Follows a run's SSE stream to its `end` event across dropped connections (an API killed and
 * restarted, a database outage), as a browser's EventSource would: after a drop, or a stream that
 * closes without `end`, it reconnects with the last id received as `Last-Event-ID`, retrying every
 * `retryMs` while nothing answers. `onEvent` sees each event as it arrives (e.g. to inject a fault).
 */
export async function followSse(
  url: string,
  options: { onEvent?: (e: SseEvent) => void | Promise<void>; retryMs?: number; timeoutMs?: number } = {},
): Promise<{ events: SseEvent[]; connections: number }> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000)
  const events: SseEvent[] = []
  let lastId: string | null = null
  let connections = 0
  for (;;) {
    if (Date.now() > deadline) throw new Error(`no end event on ${url} in time; ${events.length} events so far`)
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - Date.now()))
    try {
      const res = await fetch(url, {
        headers: lastId === null ? {} : { 'Last-Event-ID': lastId },
        signal: controller.signal,
      })
      if (res.status === 200 && res.body) {
        connections++
        const decoder = new TextDecoder()
        let buffer = ''
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true })
          let split: number
          while ((split = buffer.indexOf('\n\n')) >= 0) {
            const event = parseBlock(buffer.slice(0, split))
            buffer = buffer.slice(split + 2)
            if (!event) continue
            events.push(event)
            if (event.id !== null) lastId = event.id
            await Promise.resolve(options.onEvent?.(event)).catch((err: unknown) => {
              throw new CallbackError(err)
            })
            if (event.event === 'end') return { events, connections }
          }
        }
      } else {
        await res.body?.cancel()
      }
    } catch (err) {
      // A failing callback fails the caller; anything else (refused, reset, cut off) is a drop.
      if (err instanceof CallbackError) throw err.cause
    } finally {
      clearTimeout(timer)
    }
    await new Promise((r) => setTimeout(r, options.retryMs ?? 200))
  }
}

class CallbackError extends Error {
  constructor(override readonly cause: unknown) {
    super('SSE event callback failed')
  }
}

function parseBlock(block: string): SseEvent | null {
  let id: string | null = null
  let event = 'message'
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'id') id = value
    else if (field === 'event') event = value
    else if (field === 'data') data.push(value)
  }
  if (data.length === 0 && id === null) return null
  const text = data.join('\n')
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { id, event, data: parsed, at: Date.now() }
}
