/**
 * The SSH host's file operations: a request to the file helper (remote-files.ts running
 * safe_files.py) kept on each pooled connection, and a directory copied back through a helper of
 * its own as a tar stream. Neither ever follows a link, as SFTP would.
 */
import type { CopyLimits, CopyReport } from '../execution-host.js'
import { checkAnswer, RemoteFiles, safeFilesCommand, unpackTree, type Answer, type Request } from '../remote-files.js'
import { openChannel } from './channels.js'
import type { PooledConnection, SshConnectionPool } from './connection-pool.js'

export class SshFileHelpers {
  constructor(
    private readonly pool: SshConnectionPool,
    private readonly hostId: string,
    private readonly workDir: string,
  ) {}

  /** One request to the file helper of a pooled connection (started again, once, if it had ended). */
  async ask(request: Request): Promise<{ answer: Answer; data: Buffer }> {
    return this.pool.withConnection(async (c) => {
      for (let tries = 0; ; tries++) {
        const files = await this.#helper(c)
        try {
          const result = await files.ask(request)
          checkAnswer(this.hostId, request, result.answer)
          return result
        } catch (err) {
          if (!files.ended || tries > 0) throw err
        }
      }
    })
  }

  /**
   * Copies `relToWorkDir` into `localDir` within `limits` (`rel` names it in reports), as the helper
   * packs it.
   */
  async copyBack(rel: string, relToWorkDir: string, localDir: string, limits: CopyLimits): Promise<CopyReport> {
    const command = safeFilesCommand(
      'pack',
      this.workDir,
      relToWorkDir,
      String(limits.maxBytes),
      String(limits.maxFiles),
      String(limits.maxFileBytes),
    )
    return this.pool.withConnection(async (c) => unpackTree(await openChannel(c, command), rel, this.hostId, localDir))
  }

  async #helper(c: PooledConnection): Promise<RemoteFiles> {
    const current = c.files
    const files = current ? await current.catch(() => null) : null
    if (files && !files.ended) return files
    if (c.files === current) {
      c.files = openChannel(c, safeFilesCommand('serve', this.workDir)).then((ch) => new RemoteFiles(ch, this.hostId))
      // A failed start is forgotten: the next request tries again.
      c.files.catch(() => undefined)
    }
    return c.files!.catch((err: unknown) => {
      c.files = null
      throw err
    })
  }
}
