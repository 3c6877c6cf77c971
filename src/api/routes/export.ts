/**
 * GET /api/jobs/{job_id}/export?format=jsonl|csv|harbor: a job's runs, one row per run (task, run,
 * attempts, outcome, error class, rewards, tokens, cost, timings) as JSON Lines or CSV, or the whole
 * job as a Harbor job folder (zipped) that Harbor's own tools open (`harbor view`). Built by
 * src/export/; streamed, never held whole in memory. Secrets were scrubbed when the files were
 * collected, and the export redacts what configurations could still hold.
 */
import { Readable } from 'node:stream'
import path from 'node:path'
import { Hono } from 'hono'
import { z } from 'zod'
import { listJobTasks } from '../../db/jobs.js'
import { listJobAttempts, listRuns } from '../../db/runs.js'
import type { JobRow, JobTaskRow } from '../../db/schema.js'
import { runExportRows, toCsv, toJsonLines } from '../../export/run-rows.js'
import { zipHarborJob } from '../../export/harbor-job.js'
import type { ExportJob, ExportTask } from '../../export/input.js'
import { HARNESSES, isHarnessName } from '../../harness/registry.js'
import type { AppDeps } from '../deps.js'
import type { AppEnv } from '../auth.js'
import { requireJob } from '../lookups.js'
import { parseQuery } from '../params.js'

const ExportQuery = z.object({ format: z.enum(['jsonl', 'csv', 'harbor']).default('jsonl') }).strict()

const CONTENT_TYPES = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  harbor: 'application/zip',
} as const

export function exportRoutes(deps: AppDeps) {
  const { db, config } = deps
  const app = new Hono<AppEnv>()

  app.get('/:job_id/export', async (c) => {
    const { format } = parseQuery(ExportQuery, c.req.queries())
    const job = await requireJob(db, c.get('principal'), c.req.param('job_id'))
    const [tasks, runs] = await Promise.all([listJobTasks(db, job.id), listRuns(db, job.id)])
    const exportJob = exportJobOf(job)
    const exportTasks = tasks.map(exportTaskOf)
    let body: Readable
    if (format === 'harbor') {
      const attempts = await listJobAttempts(db, job.id)
      body = await zipHarborJob(
        { job: exportJob, tasks: exportTasks, runs, attempts },
        { artifactsDir: path.join(config.dataDir, 'artifacts') },
      )
    } else {
      const rows = runExportRows(exportJob, exportTasks, runs)
      const lines = format === 'csv' ? toCsv(rows) : toJsonLines(rows)
      body = Readable.from(bytes(lines))
    }
    const filename = `job-${job.id}.${format === 'harbor' ? 'zip' : format}`
    return new Response(Readable.toWeb(body) as ReadableStream, {
      headers: {
        'content-type': CONTENT_TYPES[format],
        'content-disposition': `attachment; filename="${filename}"`,
      },
    })
  })

  return app
}

/** Web streams take bytes, not strings. */
function* bytes(lines: Iterable<string>): Generator<Buffer> {
  for (const line of lines) yield Buffer.from(line)
}

function exportJobOf(job: JobRow): ExportJob {
  const harness = isHarnessName(job.harness) ? HARNESSES[job.harness] : null
  return { ...job, agent_without_model: harness?.agentsWithoutModel.includes(job.agent) ?? false }
}

function exportTaskOf(task: JobTaskRow): ExportTask {
  return { ...task, index: task.task_index }
}
