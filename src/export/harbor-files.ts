/**
 * Which of an attempt's collected files go into its trial's directory, and where. What the harness
 * left is under the attempt's directory in the data dir's `artifacts/` (activities/collect-output.ts):
 * for Harbor, its job directory `<output>/<job name>/` holding the trial's `<task>__<id>/` (agent
 * logs, trajectory, verifier output, `trial.log`, `exception.txt`, …); beside it, our own notes and
 * the harness's stdout and stderr.
 *
 * - With a Harbor trial directory among them, its files become the trial's, and the notes and
 *   harness output at the attempt's top join them; Harbor's job-level files (its `job.log`, …) stay
 *   out, as the folder has a job of its own.
 * - Without one (Terminal-Bench's output, or Harbor stopped before it made a trial), every file is
 *   kept, under its path in the attempt.
 *
 * The trial's `config.json`, `result.json` and `lock.json` are always the export's own, written to
 * agree with the folder: the harness's are left out.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'

/** Written by the export at the top of each trial's directory. */
export const TRIAL_FILES_OF_OURS = new Set(['config.json', 'result.json', 'lock.json'])

/** A file of the trial: its path in the trial's directory, and where it is copied from (relative to the attempt). */
export interface TrialFile {
  path: string
  from: string
}

/**
 * `files` (relative to the attempt's directory) as the trial's. `harborJobName` is the name of the
 * Harbor job the attempt ran as; `trialName` the trial's name Harbor gave it, when known.
 */
export function trialFiles(files: readonly string[], harborJobName: string, trialName: string | null): TrialFile[] {
  const prefix = harborTrialPrefix(files, harborJobName, trialName)
  const out: TrialFile[] = []
  for (const file of files) {
    let inTrial: string | null
    if (prefix === null) inTrial = file
    else if (file.startsWith(prefix)) inTrial = file.slice(prefix.length)
    else inTrial = file.includes('/') ? null : file
    if (inTrial !== null && !TRIAL_FILES_OF_OURS.has(inTrial)) out.push({ path: inTrial, from: file })
  }
  return out
}

/** `…/<job name>/<trial>/` of the Harbor trial among `files`, if there is one. */
function harborTrialPrefix(files: readonly string[], jobName: string, trialName: string | null): string | null {
  for (const file of files) {
    const parts = file.split('/')
    for (let i = 0; i + 2 < parts.length; i++) {
      const trial = parts[i + 1]!
      if (parts[i] === jobName && (trialName === null ? trial.includes('__') : trial === trialName))
        return parts.slice(0, i + 2).join('/') + '/'
    }
  }
  return null
}

/** Relative paths (with `/`) of the regular files below `dir`, sorted; none if it does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort()
}
