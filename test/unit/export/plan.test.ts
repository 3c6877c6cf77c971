import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { buffer } from 'node:stream/consumers'
import JSZip from 'jszip'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writePlan, type PlanEntry } from '../../../src/export/plan.js'
import { redactSecrets } from '../../../src/export/redact.js'
import { zipPlan } from '../../../src/export/zip.js'

let tmp: string
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'hr-export-plan-'))
  await mkdir(path.join(tmp, 'src'))
  await writeFile(path.join(tmp, 'src', 'log.txt'), 'collected\n')
})
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true })
})

function plan(): PlanEntry[] {
  return [
    { path: 'job/config.json', json: { a: 1 } },
    { path: 'job/t__r000001/notes.txt', text: 'hello' },
    { path: 'job/t__r000001/agent/log.txt', sourceFile: path.join(tmp, 'src', 'log.txt') },
  ]
}

describe('a plan', () => {
  it('is written into a directory, JSON as Harbor indents it', async () => {
    await writePlan(plan(), path.join(tmp, 'out'))
    expect(await readFile(path.join(tmp, 'out/job/config.json'), 'utf8')).toBe('{\n    "a": 1\n}')
    expect(await readFile(path.join(tmp, 'out/job/t__r000001/notes.txt'), 'utf8')).toBe('hello')
    expect(await readFile(path.join(tmp, 'out/job/t__r000001/agent/log.txt'), 'utf8')).toBe('collected\n')
  })

  it('overwrites nothing', async () => {
    await mkdir(path.join(tmp, 'out/job'), { recursive: true })
    await writeFile(path.join(tmp, 'out/job/config.json'), 'mine')
    await expect(writePlan(plan(), path.join(tmp, 'out'))).rejects.toThrow(/EEXIST/)
    expect(await readFile(path.join(tmp, 'out/job/config.json'), 'utf8')).toBe('mine')
  })

  it('never leaves its directory, nor follows a link', async () => {
    for (const p of ['../x', '/etc/x', 'job/../../x', 'job//x', 'job\\..\\x', './x'])
      await expect(writePlan([{ path: p, text: '' }], path.join(tmp, 'out')), p).rejects.toThrow(/relative path/)
    await symlink('/etc/hostname', path.join(tmp, 'src', 'link'))
    const linked = [{ path: 'job/x', sourceFile: path.join(tmp, 'src', 'link') }]
    await expect(writePlan(linked, path.join(tmp, 'out'))).rejects.toThrow(/not a regular file/)
  })

  it('is streamed as a zip of the same files', async () => {
    const zip = await JSZip.loadAsync(await buffer(zipPlan(plan())))
    const files = Object.values(zip.files).filter((f) => !f.dir)
    expect(files.map((f) => f.name).sort()).toEqual(
      plan()
        .map((e) => e.path)
        .sort(),
    )
    expect(await zip.file('job/config.json')!.async('string')).toBe('{\n    "a": 1\n}')
    expect(await zip.file('job/t__r000001/agent/log.txt')!.async('string')).toBe('collected\n')
  })

  it('reads the files for the zip as the reader takes it, not all at once', async () => {
    // Incompressible files, far more than a stream buffers: the zip waits for its reader.
    const files = Array.from({ length: 8 }, (_, i) => path.join(tmp, 'src', `big-${i}.bin`))
    for (const file of files) await writeFile(file, randomBytes(512 * 1024))
    const stream = zipPlan(files.map((f, i) => ({ path: `job/big-${i}.bin`, sourceFile: f })))
    // Time enough for reads begun at once to be done; then the last file is replaced.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const later = randomBytes(1024)
    await writeFile(path.join(tmp, 'src', 'next.bin'), later)
    await rename(path.join(tmp, 'src', 'next.bin'), files[7]!)
    const zip = await JSZip.loadAsync(await buffer(stream))
    expect((await zip.file('job/big-7.bin')!.async('nodebuffer')).equals(later)).toBe(true)
  })
})

describe('redaction', () => {
  it('replaces env values and credentials by name, and nothing else', () => {
    const config = {
      agent: {
        model_api_key_name: 'OPENROUTER_API_KEY',
        env: { OPENROUTER_API_KEY: 'sk-1', DEBUG: '1' },
        kwargs: { api_key: 'sk-2', max_tokens: 100, headers: { Authorization: 'Bearer x' } },
      },
      environment: { env: ['TOKEN=abc', 'PLAIN'] },
      agent_result: { n_input_tokens: 3, metadata: { session_token: 'abc', prompt_tokens: '5' } },
    }
    expect(redactSecrets(config)).toEqual({
      agent: {
        model_api_key_name: 'OPENROUTER_API_KEY',
        env: { OPENROUTER_API_KEY: '[REDACTED]', DEBUG: '[REDACTED]' },
        kwargs: { api_key: '[REDACTED]', max_tokens: 100, headers: { Authorization: '[REDACTED]' } },
      },
      environment: { env: ['TOKEN=[REDACTED]', 'PLAIN=[REDACTED]'] },
      agent_result: { n_input_tokens: 3, metadata: { session_token: '[REDACTED]', prompt_tokens: '5' } },
    })
    expect(config.agent.env.OPENROUTER_API_KEY).toBe('sk-1')
  })
})
