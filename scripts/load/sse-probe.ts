/** Event streams held open while the load runs: runs' log streams and job pages. */
import { readSse } from '../../test/helpers/api-client.js'
import { sleep } from './stats.js'

/** A log line an SSE client received: when the harness wrote it, and how long it took to arrive. */
export interface SseSample {
  writtenAt: number
  delay: number
  /** Of which until its transaction in the worker's log writer began (the row's created_at). */
  toStored: number
}

/** Follows `count` runs' streams, spread over the jobs; each agent line's delay goes into `delays`. */
export function followRuns(
  base: string,
  jobIds: string[],
  count: number,
  delays: SseSample[],
  stop: AbortSignal,
): Promise<void>[] {
  return Array.from({ length: count }, (_, i) =>
    followRun(base, jobIds[i % jobIds.length]!, Math.floor(i / jobIds.length) + 1, delays, stop),
  )
}

/** Follows a run's stream; for each agent line, the time from the harness writing it to here. */
async function followRun(base: string, jobId: string, run: number, delays: SseSample[], stop: AbortSignal) {
  let last = ''
  while (!stop.aborted) {
    try {
      const res = await fetch(`${base}/api/jobs/${jobId}/runs/${run}/logs/stream`, {
        headers: last ? { 'Last-Event-ID': last } : {},
        signal: stop,
      })
      const decoder = new TextDecoder()
      let buffer = ''
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let split: number
        while ((split = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, split)
          buffer = buffer.slice(split + 2)
          const id = /^id: (\d+)$/m.exec(block)?.[1]
          if (id) last = id
          if (/^event: end$/m.test(block)) return
          const sample = sampleOf(block, Date.now())
          if (sample) delays.push(sample)
        }
      }
    } catch {
      if (stop.aborted) return
      await sleep(500)
    }
  }
}

/** An agent line's event block, received at `now`, as a sample; null for any other event. */
function sampleOf(block: string, now: number): SseSample | null {
  const t = /load line \d+\/\d+ t=(\d{13})/.exec(block)?.[1]
  if (!t) return null
  const stored = Date.parse(/"time":"([^"]+)"/.exec(block)?.[1] ?? '')
  return { writtenAt: Number(t), delay: now - Number(t), toStored: stored - Number(t) }
}

/** Job pages open as a dashboard holds them: the `job` events each receives, counted in `events`. */
export function openJobPages(base: string, jobIds: string[], events: number[], stop: AbortSignal): Promise<unknown>[] {
  return events.map((_, i) =>
    readSse(`${base}/api/jobs/${jobIds[i % jobIds.length]}/events`, {
      signal: stop,
      timeoutMs: 24 * 3600_000, // until the job ends or the load stops
      stopWhen: (e) => {
        if (e.event === 'job') events[i]!++
        return false
      },
    }),
  )
}
