/**
 * Follows a harness's files on its host and appends what they gain to the run's log.
 *
 * Two kinds of source: a `lines` file grows at the end (logs, JSON-lines event files), and its
 * cursor is the byte offset read; a `trajectory` file is rewritten whole (an agent's ATIF
 * trajectory), and its cursor is the number of steps already turned into log entries.
 *
 * Exactly-once: each source's cursor is committed together with the entries read from it (see
 * `appendRunLog`), and a reader starts from the committed cursors. A worker that dies mid-read, or
 * two readers of the same attempt, can neither duplicate nor skip an entry.
 *
 * A source the host refuses to read (a symbolic link, or not a regular file: see execution-host.ts)
 * is skipped, and the run's log says so in one `runner` line per path, committed with a cursor of
 * its own (`refused:<key>`) so that it is said once. A `notice` source is such a line of the
 * driver's (too many files to follow, say).
 */
import { RefusedPathError, type ExecutionHost } from '../hosts/execution-host.js'
import type { Db } from '../db/database.js'
import { directLogWriter, type LogWriter } from '../db/log-writer.js'
import { LogCursorConflict, readLogCursors, type CursorAdvance, type LogEntry, type LogLimits } from '../db/run-logs.js'
import { findRunById } from '../db/runs.js'
import { compactStep, trajectorySteps } from './trajectory.js'

export interface LogSource {
  /** Stable key of the file within the attempt (its relative path). */
  key: string
  /** Path on the host, relative to its work dir. */
  path: string
  /** The stream its entries are shown as: `harbor`, `agent`, `verifier`, `stderr`, `phase`, `trajectory`, … */
  stream: string
  /** `lines` (the default), a `trajectory` document, or a `notice`: `line`, said once in the run's log. */
  kind?: 'lines' | 'trajectory' | 'notice'
  /** A notice's text. */
  line?: string
}

/** A trajectory is read whole; one larger than this is not followed. */
const MAX_TRAJECTORY_BYTES = 32 * 1024 * 1024

const CHUNK_BYTES = 256 * 1024
/** A "line" longer than this without a newline is cut rather than held back forever. */
const MAX_PENDING_BYTES = CHUNK_BYTES

export class LogTailer {
  #offsets = new Map<string, number>()
  /** Size of each trajectory when last read: it is read again only when that changes. */
  #trajectorySizes = new Map<string, number>()
  /** The run's harness phase as last recorded. */
  #phase: string | null = null

  constructor(
    private readonly host: ExecutionHost,
    private readonly db: Db,
    private readonly runId: string,
    private readonly attempt: number,
    private readonly scrub: (line: string) => string,
    /** The harness phase an entry moves the run into, if any (the driver's `phaseOf`): stored with it. */
    private readonly phaseOf: (entry: LogEntry) => string | null = () => null,
    /** What the run's log keeps (see `appendRunLog`). */
    private readonly limits?: LogLimits,
    /** Told of the entries of every committed poll (metrics); it must not throw. */
    private readonly onLines?: (entries: readonly LogEntry[]) => void,
    /** Commits each poll (a worker's writers batch the polls of all its runs); one transaction each by default. */
    private readonly writer: LogWriter = directLogWriter(db),
  ) {}

  async load(): Promise<void> {
    this.#offsets = await readLogCursors(this.db, this.runId, this.attempt)
    this.#trajectorySizes.clear()
    this.#phase = (await findRunById(this.db, this.runId))?.phase ?? null
  }

  /** Bytes of each source committed so far. */
  get offsets(): ReadonlyMap<string, number> {
    return this.#offsets
  }

  /**
   * Reads what the sources gained since the last poll and commits it. Until `final`, a last line
   * without its newline is left for the next poll; with `final` (the process has ended) it is taken.
   * Returns the entries appended.
   */
  async poll(sources: readonly LogSource[], final = false): Promise<LogEntry[]> {
    for (let tries = 0; ; tries++) {
      try {
        return await this.#pollOnce(sources, final)
      } catch (err) {
        if (!(err instanceof LogCursorConflict) || tries >= 3) throw err
        await this.load()
      }
    }
  }

  async #pollOnce(sources: readonly LogSource[], final: boolean): Promise<LogEntry[]> {
    const entries: LogEntry[] = []
    const cursors: CursorAdvance[] = []
    for (const source of sources) {
      try {
        if (source.kind === 'notice') this.#once(`notice:${source.key}`, source.line ?? '', entries, cursors)
        else if (source.kind === 'trajectory') await this.#readTrajectory(source, entries, cursors)
        else await this.#readLines(source, final, entries, cursors)
      } catch (err) {
        if (!(err instanceof RefusedPathError)) throw err
        const what = err.kind === 'link' ? 'is a symbolic link' : 'is not a regular file'
        this.#once(`refused:${source.key}`, `${source.key} ${what}: not followed`, entries, cursors)
      }
    }
    if (cursors.length === 0) return []
    const phase = this.#resolvePhases(entries)
    const newPhase = phase !== null && phase !== this.#phase ? phase : null
    // A harness that reports no phases of its own gets a phase event when its phase changes.
    if (newPhase && !entries.some((e) => e.stream === 'phase')) {
      entries.push({
        stream: 'phase',
        line: JSON.stringify({ event: 'phase_changed', phase: newPhase, time: new Date().toISOString() }),
        phase: newPhase,
      })
    }
    await this.writer.append({
      runId: this.runId,
      attempt: this.attempt,
      entries,
      cursors,
      phase: newPhase,
      limits: this.limits,
    })
    for (const c of cursors) this.#offsets.set(c.source, c.to)
    if (newPhase) this.#phase = newPhase
    if (entries.length > 0) this.onLines?.(entries)
    return entries
  }

  /**
   * Resolves the phase of each entry as it is written: a `phase` line keeps the phase it names (for
   * the readers of the log); returns the run's phase after them all, or null if none moves it.
   */
  #resolvePhases(entries: LogEntry[]): string | null {
    let last: string | null = null
    for (const [i, entry] of entries.entries()) {
      const phase = this.phaseOf(entry)
      if (entry.stream === 'phase') entries[i] = { ...entry, phase }
      if (phase !== null) last = phase
    }
    return last
  }

  /** What a `lines` source gained. */
  async #readLines(source: LogSource, final: boolean, entries: LogEntry[], cursors: CursorAdvance[]): Promise<void> {
    const from = this.#offsets.get(source.key) ?? 0
    let offset = from
    try {
      for (;;) {
        const chunk = await this.host.readFrom(source.path, offset, CHUNK_BYTES)
        if (!chunk || chunk.length === 0) break
        let taken = takeLines(chunk, final)
        if (taken.bytes === 0 && chunk.length >= MAX_PENDING_BYTES) taken = takeLines(chunk, true)
        for (const line of taken.lines) entries.push({ stream: source.stream, line: this.scrub(line) })
        offset += taken.bytes
        if (taken.bytes === 0 || chunk.length < CHUNK_BYTES) break
      }
    } finally {
      // What was taken before a refusal (the file swapped for a link mid-read) commits with its cursor.
      if (offset !== from) cursors.push({ source: source.key, from, to: offset })
    }
  }

  /** A `runner` line of ours, unless its marker says it was written already. */
  #once(marker: string, line: string, entries: LogEntry[], cursors: CursorAdvance[]): void {
    if (this.#offsets.has(marker) || cursors.some((c) => c.source === marker)) return
    entries.push({ stream: 'runner', line: this.scrub(line) })
    cursors.push({ source: marker, from: 0, to: 1 })
  }

  /** New steps of a trajectory, if the file changed and is whole. */
  async #readTrajectory(source: LogSource, entries: LogEntry[], cursors: CursorAdvance[]): Promise<void> {
    const size = await this.host.fileSize(source.path)
    if (size === null || size > MAX_TRAJECTORY_BYTES || size === this.#trajectorySizes.get(source.key)) return
    const data = await this.host.readFrom(source.path, 0, size)
    const steps = data ? trajectorySteps(data.toString('utf8')) : null
    if (!steps) return
    this.#trajectorySizes.set(source.key, size)
    const from = this.#offsets.get(source.key) ?? 0
    if (steps.length <= from) return
    for (const step of steps.slice(from)) entries.push({ stream: source.stream, line: this.scrub(compactStep(step)) })
    cursors.push({ source: source.key, from, to: steps.length })
  }
}

/**
 * Splits a chunk into lines. Only bytes up to the last newline are taken unless `takeRest`.
 * Cuts at newline bytes, so a multi-byte character is never split. A carriage-return progress line
 * keeps only what a terminal would show last; colour codes are dropped.
 */
export function takeLines(chunk: Buffer, takeRest: boolean): { lines: string[]; bytes: number } {
  const end = takeRest ? chunk.length : chunk.lastIndexOf(0x0a) + 1
  if (end === 0) return { lines: [], bytes: 0 }
  const text = chunk.subarray(0, end).toString('utf8')
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  return { lines: lines.map(cleanLine), bytes: end }
}

function cleanLine(line: string): string {
  const noColour = line.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '')
  const trimmed = noColour.endsWith('\r') ? noColour.slice(0, -1) : noColour
  const lastReturn = trimmed.lastIndexOf('\r')
  return lastReturn >= 0 ? trimmed.slice(lastReturn + 1) : trimmed
}
