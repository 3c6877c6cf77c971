/**
 * Conditional and cached answers of `GET /api/jobs/{id}`. A dashboard polls a job every few
 * seconds, and a job of 1000 runs takes 1000 rows and about 400 KB of JSON to answer, while most
 * polls find it unchanged. `findJobWithDetailVersion` (db/jobs.ts) tells, with the job row, whether it
 * changed; an unchanged job is answered 304 to a client that sent the version back (`If-None-Match`,
 * as a browser does by itself), else from the body last rendered for that version.
 */
import { randomBytes } from 'node:crypto'

/** The rendered bodies of the jobs asked for most recently, each under the version it shows. */
export class JobDetailCache {
  readonly #entries = new Map<string, { version: string; body: string }>()
  #chars = 0

  /** Holds bodies of `maxChars` characters in all at most; the least recently used go first. */
  constructor(readonly maxChars = 32 * 1024 * 1024) {}

  get(jobId: string, version: string): string | undefined {
    const entry = this.#entries.get(jobId)
    if (entry?.version !== version) return undefined
    // Most recently used last: Map iterates in insertion order.
    this.#entries.delete(jobId)
    this.#entries.set(jobId, entry)
    return entry.body
  }

  set(jobId: string, version: string, body: string): void {
    this.#drop(jobId)
    if (body.length > this.maxChars) return
    this.#entries.set(jobId, { version, body })
    this.#chars += body.length
    for (const oldest of this.#entries.keys()) {
      if (this.#chars <= this.maxChars) break
      this.#drop(oldest)
    }
  }

  get size(): number {
    return this.#entries.size
  }

  #drop(jobId: string): void {
    const entry = this.#entries.get(jobId)
    if (!entry) return
    this.#chars -= entry.body.length
    this.#entries.delete(jobId)
  }
}

/**
 * The entity tag of a job's detail at `version`. It carries a tag of this API process too, so that a
 * client's tag never outlives the code that rendered it (a new release may answer in another shape);
 * behind several replicas a client may therefore get a full answer where a 304 would have done.
 */
export function detailEtag(version: string): string {
  return `"${PROCESS_TAG}-${version}"`
}

const PROCESS_TAG = randomBytes(6).toString('base64url')

/** Whether an `If-None-Match` header names `etag` (weak comparison, RFC 9110 §13.1.2). */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t.replace(/^W\//, '') === etag
  })
}
