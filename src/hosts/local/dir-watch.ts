/** Directories of the local host watched by inotify (`fs.watch` on each): a line reaches its follower at once. */
import fsSync from 'node:fs'
import path from 'node:path'
import type { DirWatch } from '../execution-host.js'

export class LocalDirWatch implements DirWatch {
  readonly #watchers = new Map<string, fsSync.FSWatcher>()

  /** `resolve` gives the absolute path of a directory relative to the work dir (checked to stay below it). */
  constructor(
    private readonly resolve: (rel: string) => string,
    private readonly root: string,
    private readonly onChange: (rel: string | null) => void,
  ) {}
  update(dirs: readonly string[]): void {
    const wanted = new Set<string>()
    for (const dir of dirs) {
      // A directory not made yet: its nearest existing parent tells when it is.
      for (let d = path.posix.normalize(dir); ; d = path.posix.dirname(d)) {
        if (this.#watchers.has(d) || this.#start(d)) {
          wanted.add(d)
          break
        }
        if (d === this.root || !d.startsWith(this.root + '/')) break
      }
    }
    for (const [dir, watcher] of this.#watchers) {
      if (wanted.has(dir)) continue
      watcher.close()
      this.#watchers.delete(dir)
    }
  }

  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close()
    this.#watchers.clear()
  }

  #start(dir: string): boolean {
    let watcher: fsSync.FSWatcher
    try {
      // Not persistent: a watch never keeps the process alive.
      watcher = fsSync.watch(this.resolve(dir), { persistent: false }, (_event, name) =>
        this.onChange(name ? path.posix.join(dir, name.toString()) : null),
      )
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return false
      throw err
    }
    // Removed under us (clean-up) or out of watches: the follower polls that directory again.
    watcher.on('error', () => {
      watcher.close()
      if (this.#watchers.get(dir) === watcher) this.#watchers.delete(dir)
      this.onChange(null)
    })
    this.#watchers.set(dir, watcher)
    return true
  }
}
