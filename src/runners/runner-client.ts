/**
 * Talks to one trial runner over its control socket (harness-plugins/harbor_trial_runner/server.py):
 * one JSON request per connection, one JSON line back.
 */
import type { Duplex } from 'node:stream'
import { z } from 'zod'
import type { ExecutionHost } from '../hosts/execution-host.js'

const REQUEST_TIMEOUT_MS = 30_000
const MAX_ANSWER_BYTES = 1 << 20

export const RunnerStateSchema = z.object({
  id: z.string(),
  build: z.string(),
  pid: z.number().int(),
  protocol: z.number().int(),
  harbor_version: z.string(),
  python: z.string(),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  draining: z.boolean(),
  stale: z.string().nullable(),
  warm: z.boolean(),
  rss_bytes: z.number(),
  started_at_ms: z.number(),
})
export type RunnerState = z.infer<typeof RunnerStateSchema>

const Refusal = z.object({ ok: z.literal(false), code: z.string(), message: z.string() })

/** The runner said no: `code` is one of already_started, full, draining, unknown_attempt, bad_request. */
export class RunnerRefusal extends Error {
  override name = 'RunnerRefusal'
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export type RunnerRequest =
  | { op: 'state' }
  | { op: 'start'; attempt: object; secret_env: Record<string, string> }
  | { op: 'cancel' | 'kill'; proc: string }
  | { op: 'drain' }

/** Sends `request` to the runner listening at `socketPath` on `host`; throws {@link RunnerRefusal} on a no. */
export async function askRunner(host: ExecutionHost, socketPath: string, request: RunnerRequest): Promise<unknown> {
  const stream = await host.openSocket(socketPath)
  try {
    const line = await exchange(stream, JSON.stringify(request) + '\n')
    const answer: unknown = JSON.parse(line)
    const refused = Refusal.safeParse(answer)
    if (refused.success) throw new RunnerRefusal(refused.data.code, refused.data.message)
    return answer
  } finally {
    stream.destroy()
  }
}

export async function runnerState(host: ExecutionHost, socketPath: string): Promise<RunnerState> {
  return RunnerStateSchema.parse(await askRunner(host, socketPath, { op: 'state' }))
}

/** Writes `text` and resolves with the first line that comes back. */
function exchange(stream: Duplex, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const timer = setTimeout(() => fail(new Error('the runner did not answer in time')), REQUEST_TIMEOUT_MS)
    const fail = (err: Error) => {
      clearTimeout(timer)
      reject(err)
    }
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      const all = Buffer.concat(chunks)
      const end = all.indexOf(10)
      if (end >= 0) {
        clearTimeout(timer)
        resolve(all.subarray(0, end).toString('utf8'))
      } else if (size > MAX_ANSWER_BYTES) fail(new Error('the runner answered too much'))
    })
    stream.once('error', fail)
    stream.once('close', () => fail(new Error('the runner closed the connection without answering')))
    stream.write(text)
  })
}
