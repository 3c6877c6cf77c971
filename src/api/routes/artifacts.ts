/**
 * GET /api/jobs/{job_id}/runs/{run_number}/artifacts: everything collected from the run's attempts
 * (per attempt: Harbor's job directory with the trial's agent logs, trajectory, verifier output and
 * result, and the harness's own stdout and stderr), as one zip. Secrets were scrubbed when the files
 * were collected. Streamed: the archive is never held whole in memory.
 */
import path from 'node:path'
import { Readable } from 'node:stream'
import { Hono } from 'hono'
import { listFiles } from '../../export/harbor-files.js'
import { zipPlan } from '../../export/zip.js'
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
    const prefix = `job-${jobId}-run-${runNumber}`
    // Each file is opened when the zip stream reaches it.
    const stream = zipPlan(files.map((file) => ({ path: `${prefix}/${file}`, sourceFile: path.join(dir, file) })))
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      headers: {
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${prefix}.zip"`,
      },
    })
  })

  return app
}
