/** Status polls of `GET /api/jobs/{id}` while the load runs, as dashboards and scripts would. */
import http from 'node:http'
import { sleep } from './stats.js'

export interface PollSamples {
  /** The browser-like polls of the 1000-run job: when each was sent, and how long it took. */
  bigPoll: { sentAt: number; ms: number }[]
  bigPollPlain: number[]
  bigPollHttp: number[]
  loadPoll: number[]
  bigPollApi: number[]
  loadPollApi: number[]
  pollAuth: number[]
  notModified: number
}

export function emptyPollSamples(): PollSamples {
  return {
    bigPoll: [],
    bigPollPlain: [],
    bigPollHttp: [],
    loadPoll: [],
    bigPollApi: [],
    loadPollApi: [],
    pollAuth: [],
    notModified: 0,
  }
}

/**
 * Poller 0 polls the 1000-run job as a browser does (it sends the last ETag back, If-None-Match);
 * poller 1 polls it without validators, as curl would; the others poll the load's jobs (browser-like).
 */
export function startPollers(
  base: string,
  bigJob: string,
  jobIds: string[],
  count: number,
  into: PollSamples,
  stop: AbortSignal,
): Promise<void>[] {
  return Array.from({ length: count }, async (_, i) => {
    const plain = i === 1
    const target = i <= 1 ? bigJob : jobIds[i % jobIds.length]!
    let etag: string | null = null
    while (!stop.aborted) {
      const s = performance.now()
      const sentAt = Date.now()
      const res = await fetch(`${base}/api/jobs/${target}`, {
        headers: etag && !plain ? { 'If-None-Match': etag } : {},
      })
      await res.arrayBuffer()
      const ms = performance.now() - s
      if (target !== bigJob) into.loadPoll.push(ms)
      else if (plain) into.bigPollPlain.push(ms)
      else into.bigPoll.push({ sentAt, ms })
      recordServerTiming(res, target !== bigJob ? into.loadPollApi : into.bigPollApi, into.pollAuth)
      if (res.status === 304) into.notModified++
      else etag = res.headers.get('etag')
      await sleep(1000)
    }
  })
}

/** The API's own time for a request (its Server-Timing header), and of which the token check. */
function recordServerTiming(res: Response, inApiTimes: number[], authTimes: number[]): void {
  // The rest is spent outside its handlers.
  const timing = res.headers.get('server-timing') ?? ''
  const inApi = /(?:^|,)\s*total;[^,]*dur=([\d.]+)/.exec(timing)?.[1]
  if (inApi) inApiTimes.push(Number(inApi))
  const auth = /(?:^|,)\s*auth;[^,]*dur=([\d.]+)/.exec(timing)?.[1]
  if (auth) authTimes.push(Number(auth))
}

/**
 * The same browser-like poll of the 1000-run job through node:http (a kept-alive connection)
 * rather than fetch: tells the client library's own delays from the API's.
 */
export function startHttpPoller(base: string, bigJob: string, into: number[], stop: AbortSignal) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const done = (async () => {
    let etag: string | undefined
    while (!stop.aborted) {
      const s = performance.now()
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http
          .get(`${base}/api/jobs/${bigJob}`, { agent, headers: etag ? { 'If-None-Match': etag } : {} }, resolve)
          .on('error', reject),
      )
      for await (const _ of res) void _
      into.push(performance.now() - s)
      if (res.statusCode === 200) etag = res.headers.etag
      await sleep(1000)
    }
  })()
  return { done, agent }
}
