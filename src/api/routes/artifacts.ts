/**
 * GET /api/jobs/{job_id}/runs/{run_number}/artifacts: everything collected from the run's attempts
 * (per attempt: Harbor's job directory with the trial's agent logs, trajectory, verifier output and
 * result, and the harness's own stdout and stderr), as one zip. Secrets were scrubbed when the files
 * were collected. Streamed: the archive is never held whole in memory.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { Hono } from 'hono'
import JSZip from 'jszip'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import { ApiError } from '../errors.js'
import { requireRun } from '../lookups.js'
import { NO_QUERY, parseQuery } from '../params.js'

export function artifactRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()

  app.get('/:job_id/runs/:run_number/artifacts', async (c) => {
    parseQuery(NO_QUERY, c.req.queries())
    const run = await requireRun(deps.db, c.get('principal'), c.req.param('job_id'), c.req.param('run_number'))
    const { job_id: jobId, run_number: runNumber } = run
    const dir = path.join(deps.config.dataDir, 'artifacts', jobId, `run-${runNumber}`)
    const files = await listFiles(dir)
    if (files.length === 0) {
      throw new ApiError(404, 'no_artifacts', `run ${runNumber} has no collected artifacts yet (status: ${run.status})`)
    }
    const zip = new JSZip()
    const prefix = `job-${jobId}-run-${runNumber}`
    for (const file of files) {
      // Each file is read when the zip stream reaches it.
      zip.file(`${prefix}/${file}`, fs.readFile(path.join(dir, file)), { binary: true })
    }
    const stream = zip.generateNodeStream({ type: 'nodebuffer', streamFiles: true, compression: 'DEFLATE' })
    // JSZip's stream is an old-style Node stream: wrap it before handing it to the web stream API.
    return new Response(Readable.toWeb(new Readable().wrap(stream)) as ReadableStream, {
      headers: {
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${prefix}.zip"`,
      },
    })
  })

  return app
}

/** Relative paths of the regular files below `dir` (none if it does not exist). */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort()
}
