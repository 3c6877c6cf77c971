import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { loadOrCreateKeyFile, seal, unseal } from '../../../src/secrets/sealed-box.js'
import { makeScrubber } from '../../../src/secrets/scrub.js'

const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

describe('sealed secrets', () => {
  const key = randomBytes(32)

  it('round-trips, with a fresh IV each time and no plaintext in the ciphertext', () => {
    const a = seal(key, 'sk-or-v1-secret', 'job-1')
    const b = seal(key, 'sk-or-v1-secret', 'job-1')
    expect(a.iv.equals(b.iv)).toBe(false)
    expect(a.ciphertext.includes(Buffer.from('sk-or'))).toBe(false)
    expect(unseal(key, a, 'job-1')).toBe('sk-or-v1-secret')
  })

  it('refuses another job id, another key, or tampering', () => {
    const sealed = seal(key, 'sk-or-v1-secret', 'job-1')
    expect(() => unseal(key, sealed, 'job-2')).toThrow()
    expect(() => unseal(randomBytes(32), sealed, 'job-1')).toThrow()
    const tampered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext) }
    tampered.ciphertext[0]! ^= 1
    expect(() => unseal(key, tampered, 'job-1')).toThrow()
  })

  it('creates the embedded master key once, readable only by its owner', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hr-key-'))
    dirs.push(dir)
    const first = await loadOrCreateKeyFile(dir)
    expect(first).toHaveLength(32)
    expect((await stat(path.join(dir, 'secrets.key'))).mode & 0o777).toBe(0o600)
    expect((await loadOrCreateKeyFile(dir)).equals(first)).toBe(true)
    expect((await readFile(path.join(dir, 'secrets.key'), 'utf8')).trim()).toBe(first.toString('base64'))
  })

  it('scrubs every occurrence of a secret', () => {
    const scrub = makeScrubber(['sk-or-v1-abcdef', null])
    expect(scrub('key=sk-or-v1-abcdef and again sk-or-v1-abcdef')).toBe('key=[REDACTED] and again [REDACTED]')
    expect(makeScrubber([null, 'short'])('short')).toBe('short')
  })
})
