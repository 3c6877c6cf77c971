/**
 * When a harness's files are read, and which. A follower lists the files the driver names (again
 * every few seconds, and when something unknown appears) and reads them through the log tailer.
 *
 * Where the host can watch its directories (the local host, by inotify), the follower reads a file
 * as soon as it is written, and only the files that changed: a line reaches the run's log within
 * milliseconds, and a quiet harness costs nothing between its writes. Elsewhere (SSH), and while its
 * worker follows so many harnesses that the notices would cost more than polls, it reads every file
 * at each poll, the poll interval growing with their number. Which of the two, the caller's `mode`
 * says at every step (`followMode` in run-harness.ts: a run someone watches is followed live).
 *
 * Watching delivers a line several times sooner than polling for a few dozen harnesses, but at
 * several hundred on a small machine the notices cost the worker more CPU than polls and delay lines
 * more, so past a couple of hundred harnesses (FOLLOW_LIVE_UP_TO) the follower polls those nobody
 * watches (docs/benchmarks/load.md, measurements 3 and 4).
 */
import path from 'node:path/posix'
import type { DirWatch, ExecutionHost } from '../hosts/execution-host.js'
import type { LogEntry } from '../db/run-logs.js'
import type { LogSource } from './log-tailer.js'

/** How often the files to follow are listed again, and the longest wait between reads when watching. */
export const RELIST_EVERY_MS = 2_000
/** Something unknown appeared (a trial directory, a new log file): listed again, but not more often. */
const RELIST_AFTER_CHANGE_MS = 250

/** Where an attempt is on its host (relative to the work dir): the whole of it, and the harness's record. */
export interface FollowedAttempt {
  root: string
  proc: string
}

/** What names the files to follow (a harness's driver). */
export interface SourceLister<P extends FollowedAttempt> {
  logSources(host: ExecutionHost, paths: P): Promise<LogSource[]>
}

/** What a follower reads through (a `LogTailer`). */
export interface SourceReader {
  poll(sources: readonly LogSource[], final?: boolean): Promise<LogEntry[]>
}

export class Follower<P extends FollowedAttempt = FollowedAttempt> {
  #sources: { list: LogSource[]; paths: Set<string>; at: number } | null = null
  readonly #changed = new Set<string>()
  #relist = true
  #wake: (() => void) | null = null
  #lastRead = 0
  /** Whether the watch covers the directories of the sources (not while polling). */
  #watchedDirs = false
  readonly #watch: DirWatch | null

  constructor(
    private readonly host: ExecutionHost,
    private readonly driver: SourceLister<P>,
    private readonly paths: P,
    private readonly tailer: SourceReader,
    /**
     * Given how many harnesses the worker follows: the poll interval, whether to follow the host's
     * change notices rather than poll, and then the least time between two reads.
     */
    private readonly mode: () => { pollMs: number; watch: boolean; minGapMs: number },
  ) {
    this.#watch =
      host.watch?.(paths.root, (rel) => {
        if (rel === null) this.#relist = true
        else this.#changed.add(rel)
        this.#wake?.()
      }) ?? null
  }

  /** Whether the host reports changes (else each read reads every file). */
  get canWatch(): boolean {
    return this.#watch !== null
  }

  /**
   * Reads what changed and commits it (see `LogTailer.poll`); `final` lists and reads every file,
   * taking a last line without its newline.
   */
  async read(final = false): Promise<LogEntry[]> {
    this.#lastRead = Date.now()
    const watching = this.#watchNow()
    if (!watching && this.#watchedDirs) {
      this.#watch?.update([])
      this.#watchedDirs = false
    }
    const sources = this.#sources
    for (const rel of this.#changed) if (!sources?.paths.has(rel)) this.#relist = true
    const age = sources ? Date.now() - sources.at : Infinity
    const relist =
      final ||
      !sources ||
      age > RELIST_EVERY_MS ||
      (watching && (!this.#watchedDirs || (this.#relist && age > RELIST_AFTER_CHANGE_MS)))
    if (relist || !watching) {
      const list = relist ? await this.#list(watching) : sources!.list
      this.#changed.clear()
      return this.tailer.poll(list, final)
    }
    const due = sources.list.filter((s) => this.#changed.has(s.path))
    this.#changed.clear()
    return due.length > 0 ? this.tailer.poll(due) : []
  }

  /**
   * Resolves when it is time to read again: watching, at the next change (no sooner than the least
   * gap after the last read) or after RELIST_EVERY_MS at the latest; polling, after the poll interval.
   */
  next(): Promise<void> {
    const { pollMs, minGapMs, watch } = this.mode()
    if (!watch || !this.#watch) return new Promise((resolve) => setTimeout(resolve, pollMs))
    return new Promise((resolve) => {
      let done = false
      const fire = () => {
        if (done) return
        done = true
        this.#wake = null
        clearTimeout(latest)
        resolve()
      }
      const latest = setTimeout(fire, RELIST_EVERY_MS)
      this.#wake = () => {
        this.#wake = null
        setTimeout(fire, Math.max(0, this.#lastRead + minGapMs - Date.now()))
      }
      if (this.#changed.size > 0 || this.#relist) this.#wake()
    })
  }

  close(): void {
    this.#watch?.close()
    this.#wake = null
  }

  #watchNow(): boolean {
    return this.#watch !== null && this.mode().watch
  }

  async #list(watching: boolean): Promise<LogSource[]> {
    const list = await this.driver.logSources(this.host, this.paths)
    this.#sources = { list, paths: new Set(list.map((s) => s.path)), at: Date.now() }
    this.#relist = false
    if (watching) {
      // The directories of the files, and the supervisor's (its exit record ends the follow).
      this.#watch?.update([...new Set([this.paths.proc, ...list.map((s) => path.dirname(s.path))])])
      this.#watchedDirs = true
    }
    return list
  }
}
