/**
 * Wakes the API's log streams when a run's log grows. One dedicated PostgreSQL connection LISTENs
 * on the `run_log` channel (writers notify with the run id on commit) and fans out to subscribers.
 * If the connection drops it reconnects; subscribers also wake on a timer, so a lost notification
 * delays a line by at most that long and never loses it.
 */
import pg from 'pg'
import { LOG_NOTIFY_CHANNEL } from '../db/run-logs.js'

export interface LogNotifier {
  /** Resolves when `runId`'s log may have grown, or after `timeoutMs`. */
  wait(runId: string, timeoutMs: number, signal?: AbortSignal): Promise<void>
  close(): Promise<void>
}

export function createLogNotifier(databaseUrl: string, onError: (err: unknown) => void = () => {}): LogNotifier {
  const waiters = new Map<string, Set<() => void>>()
  let client: pg.Client | null = null
  let closed = false
  let retryTimer: NodeJS.Timeout | null = null

  const wakeAll = (runId: string) => {
    const set = waiters.get(runId)
    if (!set) return
    waiters.delete(runId)
    for (const wake of set) wake()
  }

  const connect = async () => {
    if (closed) return
    const c = new pg.Client({ connectionString: databaseUrl })
    c.on('notification', (msg) => {
      if (msg.channel === LOG_NOTIFY_CHANNEL && msg.payload) wakeAll(msg.payload)
    })
    c.on('error', (err) => {
      onError(err)
      reconnectSoon(c)
    })
    c.on('end', () => reconnectSoon(c))
    try {
      await c.connect()
      await c.query(`LISTEN ${LOG_NOTIFY_CHANNEL}`)
      client = c
      // Lines may have landed while we were not listening.
      for (const runId of [...waiters.keys()]) wakeAll(runId)
    } catch (err) {
      onError(err)
      reconnectSoon(c)
    }
  }

  const reconnectSoon = (c: pg.Client) => {
    if (client === c) client = null
    c.removeAllListeners('end')
    void c.end().catch(() => {})
    if (closed || retryTimer) return
    retryTimer = setTimeout(() => {
      retryTimer = null
      void connect()
    }, 1000)
  }

  void connect()

  return {
    wait(runId, timeoutMs, signal) {
      return new Promise<void>((resolve) => {
        let set = waiters.get(runId)
        if (!set) waiters.set(runId, (set = new Set()))
        const done = () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', done)
          waiters.get(runId)?.delete(done)
          if (waiters.get(runId)?.size === 0) waiters.delete(runId)
          resolve()
        }
        const timer = setTimeout(done, timeoutMs)
        signal?.addEventListener('abort', done, { once: true })
        set.add(done)
      })
    },
    async close() {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      for (const runId of [...waiters.keys()]) wakeAll(runId)
      const c = client
      client = null
      if (c) {
        c.removeAllListeners('end')
        await c.end().catch(() => {})
      }
    },
  }
}
