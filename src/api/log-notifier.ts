/**
 * Wakes the API's log streams when a run's log grows. One dedicated PostgreSQL connection LISTENs
 * on the `run_log` channel (writers notify with the run id on commit) and fans out to subscribers.
 * If the connection drops it reconnects; subscribers also wake on a timer, so a lost notification
 * delays a line by at most that long and never loses it.
 */
import { listen } from '../db/listen.js'
import { LOG_NOTIFY_CHANNEL } from '../db/run-logs.js'

export interface LogNotifier {
  /** Resolves when `runId`'s log may have grown, or after `timeoutMs`. */
  wait(runId: string, timeoutMs: number, signal?: AbortSignal): Promise<void>
  close(): Promise<void>
}

export function createLogNotifier(databaseUrl: string, onError: (err: unknown) => void = () => {}): LogNotifier {
  const waiters = new Map<string, Set<() => void>>()

  const wakeAll = (runId: string) => {
    const set = waiters.get(runId)
    if (!set) return
    waiters.delete(runId)
    for (const wake of set) wake()
  }

  const listener = listen(databaseUrl, LOG_NOTIFY_CHANNEL, {
    onPayload: wakeAll,
    // Lines may have landed while we were not listening.
    onListening: () => {
      for (const runId of [...waiters.keys()]) wakeAll(runId)
    },
    onError,
  })

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
      for (const runId of [...waiters.keys()]) wakeAll(runId)
      await listener.close()
    },
  }
}
