/**
 * The warm Harbor of a host: what its trial runners (harness-plugins/harbor_trial_runner) are made
 * of and how one starts. Its build is a hash of all of that, so a change to any of it (our Python,
 * the interpreter, the harness's environment, the options) starts new runners for new attempts
 * while the old ones finish their own.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { ManagedHost } from '../../hosts/execution-host.js'
import type { RunnerSpec } from '../../runners/runner-pool.js'
import type { WarmRunnerOptions } from '../harness.js'

/** Harbor's runners on a host; `options.bin` is the `harbor` console script, whose Python the runner uses. */
export function harborRunnerSpec(options: WarmRunnerOptions): RunnerSpec {
  const count = Math.max(1, Math.ceil(options.slots / options.maxAttemptsPerRunner))
  // Spread evenly: 600 slots at most 250 a runner is three runners of 200.
  const maxAttempts = Math.ceil(options.slots / count)
  const build = createHash('sha256')
    .update(sourcesDigest(options.pluginsDir))
    .update(JSON.stringify([options.bin, Object.entries(options.env).sort(), maxAttempts, options.preload]))
    .update(String(options.idleExitSec))
    .digest('hex')
    .slice(0, 12)
  let python: Promise<string> | null = null
  const interpreter = (host: ManagedHost) =>
    (python ??= interpreterOf(host, options.bin).catch((err: unknown) => {
      python = null
      throw err
    }))
  return {
    build,
    count,
    env: options.env,
    async check(host) {
      const bin = await interpreter(host)
      const probe =
        'import harbor_trial_runner.server, harbor.trial.trial, importlib.metadata as m; print(m.version("harbor"))'
      const env = Object.entries(options.env).map(([k, v]) => `${k}=${v}`)
      const result = await host.exec(['env', '-i', ...env, bin, '-c', probe])
      if (result.code !== 0) {
        const why = result.stderr.trim().split('\n').slice(-3).join(' ')
        throw new Error(`a trial runner cannot start on ${host.id} (${bin}): ${why}`)
      }
      return { python: bin, harbor: result.stdout.trim() }
    },
    async argv(host, runnerDir, id) {
      return [
        await interpreter(host),
        '-m',
        'harbor_trial_runner',
        '--dir',
        runnerDir,
        '--work-dir',
        host.absolute('.'),
        '--id',
        id,
        '--build',
        build,
        '--max-attempts',
        String(maxAttempts),
        '--preload',
        options.preload.join(','),
        '--idle-exit-sec',
        String(options.idleExitSec),
      ]
    },
  }
}

/**
 * The Python interpreter of a console script, from its first line: `#!/path/python`,
 * `#!/usr/bin/env python3`, or pip's `#!/bin/sh` + `'''exec' "/path/python" "$0" "$@"` for long paths.
 */
export async function interpreterOf(host: ManagedHost, script: string): Promise<string> {
  const head = await host.exec(['sh', '-c', 'f=$(command -v "$1") && head -c 512 "$f"', 'sh', script])
  if (head.code !== 0) throw new Error(`${script} is not there on ${host.id}: ${head.stderr.trim() || 'not found'}`)
  const python = parseShebang(head.stdout)
  if (!python) throw new Error(`${script} on ${host.id} is not a Python console script (no Python in its #! line)`)
  return python
}

export function parseShebang(text: string): string | null {
  const first = text.split('\n')[0] ?? ''
  if (!first.startsWith('#!')) return null
  const words = first.slice(2).trim().split(/\s+/)
  if (words[0] === '/bin/sh') return /^'''exec' "([^"]+)"/m.exec(text)?.[1] ?? null
  const program = words[0]?.endsWith('/env') ? words.find((w, i) => i > 0 && !w.startsWith('-')) : words[0]
  return program && /python[\d.]*$/.test(program) ? program : null
}

/** A digest of every Python source below `dir` (what runs as the runner). */
function sourcesDigest(dir: string): string {
  const hash = createHash('sha256')
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.py'))
    .sort()
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(path.join(dir, file)))
      .update('\0')
  return hash.digest('hex')
}
