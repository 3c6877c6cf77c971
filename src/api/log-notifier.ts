/**
 * Wakes the API's log streams when a run's log grows. One dedicated PostgreSQL connection LISTENs
 * on the `run_log` channel (writers notify with the run id on commit) and fans out to subscribers.
 * If the connection drops it reconnects; the streams also wake on a timer of their own, so a lost
 * notification delays a line by at most that long and never loses it.
 */
import { listen } from '../db/listen.js'
import { LOG_NOTIFY_CHANNEL } from '../db/run-logs.js'

export interface LogNotifier {
  /** Resolves when `runId`'s log may have grown, or after `timeoutMs`. */
  wait(runId: string, timeoutMs: number, signal?: AbortSignal): Promise<void>
  /**
   * Calls `onWake` whenever the log of one of `runIds` may have grown (and when notices may have
   * been missed), until the returned function is called: for a stream that follows many runs.
   */
  subscribe(runIds: readonly string[], onWake: () => void): () => void
  close(): Promise<void>
}

export function createLogNotifier(databaseUrl: string, onError: (err: unknown) => void = () => {}): LogNotifier {
  /** One-shot waiters, by run. */
  const waiters = new Map<string, Set<() => void>>()
  /** Standing subscriptions, by run. */
  const subscribers = new Map<string, Set<() => void>>()

  const wakeAll = (runId: string) => {
    const set = waiters.get(runId)
    if (set) {
      waiters.delete(runId)
      for (const wake of set) wake()
    }
    for (const wake of subscribers.get(runId) ?? []) wake()
  }

  const listener = listen(databaseUrl, LOG_NOTIFY_CHANNEL, {
    onPayload: wakeAll,
    // Lines may have landed while we were not listening.
    onListening: () => {
      for (const runId of new Set([...waiters.keys(), ...subscribers.keys()])) wakeAll(runId)
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
    subscribe(runIds, onWake) {
      for (const runId of runIds) {
        let set = subscribers.get(runId)
        if (!set) subscribers.set(runId, (set = new Set()))
        set.add(onWake)
      }
      return () => {
        for (const runId of runIds) {
          const set = subscribers.get(runId)
          set?.delete(onWake)
          if (set?.size === 0) subscribers.delete(runId)
        }
      }
    },
    async close() {
      for (const runId of [...waiters.keys()]) wakeAll(runId)
      await listener.close()
    },
  }
}
