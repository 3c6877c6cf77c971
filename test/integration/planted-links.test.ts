/**
 * A real Harbor trial (the oracle, in the test environment whose sandbox bind-mounts the trial's
 * `agent/` onto `/logs/agent`, as Docker does with Harbor's auto-mounting) whose solution plants
 * links to a secret file of the worker (`ln -s /…/master.key /logs/agent/x.txt`, and a link to its
 * directory), a FIFO, more text logs than are followed, and a flood of files. The run still passes; the secret is in no line of
 * its log, no file of its artifacts and no file of the data dir; the log says, once each, that the
 * link and the FIFO were not followed and that the agent wrote too many files to follow; the
 * artifacts hold TRUNCATED.txt and NOT-COPIED.txt and no link.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import JSZip from 'jszip'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { listRunLogAfter } from '../../src/db/run-logs.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { upload, waitForJob } from '../helpers/api-client.js'
import { recordAttacks } from '../helpers/reliability.js'
import { filesContaining } from '../helpers/secrets-scan.js'
import { startTestService, type TestService } from '../helpers/service.js'
import { buildZip } from '../helpers/task-zips.js'

const SECRET = 'worker-master-key-0c5e9a7d13b24f68'
let service: TestService
let outside: string
let jobId: string
let job: any

async function plantingTask(secretFile: string): Promise<Buffer> {
  const dir = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tasks', 'hello-pass')
  const read = (f: string) => readFile(path.join(dir, f), 'utf8')
  const solve = [
    '#!/bin/bash',
    'set -e',
    `ln -s ${secretFile} /logs/agent/x.txt`,
    `ln -s ${path.dirname(secretFile)} /logs/agent/up`,
    'mkfifo /logs/agent/pipe.txt',
    // More text logs than are followed (they sort after x.txt), and a flood deeper down.
    'for i in $(seq 1 30); do echo "step $i" > /logs/agent/z-step-$i.txt; done',
    'mkdir /logs/agent/steps',
    'for i in $(seq 1 300); do echo "step $i" > /logs/agent/steps/$i.txt; done',
    "echo 'Hello, Harbor!' > hello.txt",
    '',
  ].join('\n')
  return buildZip({
    'task.toml': await read('task.toml'),
    'instruction.md': await read('instruction.md'),
    'environment/Dockerfile': await read('environment/Dockerfile'),
    'tests/test.sh': { data: await read('tests/test.sh'), mode: 0o755 },
    'solution/solve.sh': { data: solve, mode: 0o755 },
  })
}

beforeAll(async () => {
  outside = await mkdtemp(path.join(os.tmpdir(), 'hr-worker-secret-'))
  await writeFile(path.join(outside, 'master.key'), `${SECRET}\n`, { mode: 0o600 })
  service = await startTestService({ env: { ARTIFACT_MAX_FILES: '200' } })
  const res = await upload(service.api.url, {
    file: await plantingTask(path.join(outside, 'master.key')),
    filename: 'task.zip',
    fields: { model: 'openai/gpt-4o', agent: 'oracle', n_runs: '1' },
  })
  expect(res.status).toBe(201)
  jobId = res.body.job_id
  job = await waitForJob(service.api.url, jobId, (j) => j.status === 'completed', 180_000)
})
afterAll(async () => {
  await service?.stop()
  if (outside) await rm(outside, { recursive: true, force: true })
})

recordAttacks('link_escape')

it('passes, and its log says what was not followed, never the secret', async () => {
  expect(job.runs.map((r: any) => [r.outcome, r.error_message])).toEqual([['passed', null]])
  const run = await service.db.db.selectFrom('runs').select('id').where('job_id', '=', jobId).executeTakeFirstOrThrow()
  const log = await listRunLogAfter(service.db.db, run.id, 0, 100_000)
  expect(JSON.stringify(log)).not.toContain(SECRET)
  const runner = log.filter((l) => l.stream === 'runner').map((l) => l.line)
  const once = (pattern: RegExp) => expect(runner.filter((l) => pattern.test(l))).toHaveLength(1)
  once(/agent\/x\.txt is a symbolic link: not followed$/)
  once(/agent\/pipe\.txt is not a regular file: not followed$/)
  once(/agent holds too many files to follow/)
  once(/output was cut at 200 files \(ARTIFACT_MAX_FILES\)/)
  once(/is .*: not copied, nor \d+ more like it/)
})

it('keeps no link and no secret in its artifacts, and says what it left out', async () => {
  const res = await fetch(`${service.api.url}/api/jobs/${jobId}/runs/1/artifacts`)
  expect(res.status).toBe(200)
  const zip = await JSZip.loadAsync(Buffer.from(await res.arrayBuffer()))
  const names = Object.keys(zip.files)
  for (const file of Object.values(zip.files)) {
    if (!file.dir) expect(await file.async('string')).not.toContain(SECRET)
    // A link would be stored with its type bits (0o120000) in the zip's unix permissions.
    expect((file.unixPermissions as number) & 0o170000).not.toBe(0o120000)
  }
  expect(names.some((n) => n.endsWith('/x.txt') || n.endsWith('/up') || n.endsWith('/pipe.txt'))).toBe(false)
  const note = await zip.file(new RegExp('attempt-1/NOT-COPIED.txt$'))[0]!.async('string')
  expect(note).toMatch(/agent\/x\.txt: a symbolic link \(never followed\)/)
  expect(zip.file(/attempt-1\/TRUNCATED\.txt$/)).toHaveLength(1)
  expect(names.some((n) => n.endsWith('/result.json'))).toBe(true)
  expect(await filesContaining(service.config.dataDir, SECRET)).toEqual([])
})
