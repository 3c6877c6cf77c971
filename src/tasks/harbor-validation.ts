/**
 * Upload-time validation by Harbor's own rules: the task is loaded with Harbor's task model (in the
 * project's Python, through `harbor_check_task.py`), which runs nothing but reports the precise
 * reason a task is invalid ("does not contain tests/test.sh", "agent.timeout_sec: Input should be a
 * valid number", a TOML syntax error), so the uploader sees it now rather than a failed run later.
 */
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { z } from 'zod'
import { TaskArchiveError } from './errors.js'

const CHECK_SCRIPT = fileURLToPath(new URL('./harbor_check_task.py', import.meta.url))

const Verdict = z.union([
  z.object({ ok: z.literal(true), name: z.string() }),
  z.object({ ok: z.literal(false), type: z.string(), message: z.string() }),
])

/** Throws {@link TaskArchiveError} `invalid_task` with Harbor's reason when Harbor rejects the task. */
export async function checkWithHarbor(python: string, taskRoot: string): Promise<void> {
  const result = await execa(python, [CHECK_SCRIPT, taskRoot], {
    reject: false,
    timeout: 60_000,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1', HARBOR_TELEMETRY: '0' },
  })
  const line = result.stdout.trim().split('\n').at(-1) ?? ''
  let verdict: z.infer<typeof Verdict>
  try {
    verdict = Verdict.parse(JSON.parse(line))
  } catch {
    throw new Error(`could not check the task with Harbor (exit ${result.exitCode}): ${result.stderr.slice(-500)}`)
  }
  if (!verdict.ok) {
    throw new TaskArchiveError('invalid_task', `Harbor rejects this task: ${verdict.message}`)
  }
}
