/**
 * AES-256-GCM for secrets at rest. A fresh 96-bit IV per secret; the job id is bound in as
 * associated data, so a ciphertext copied onto another job's row does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'

export interface Sealed {
  ciphertext: Buffer
  iv: Buffer
  auth_tag: Buffer
}

export function seal(masterKey: Buffer, plaintext: string, associatedData: string): Sealed {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv)
  cipher.setAAD(Buffer.from(associatedData, 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return { ciphertext, iv, auth_tag: cipher.getAuthTag() }
}

export function unseal(masterKey: Buffer, sealed: Sealed, associatedData: string): string {
  const decipher = createDecipheriv('aes-256-gcm', masterKey, sealed.iv)
  decipher.setAAD(Buffer.from(associatedData, 'utf8'))
  decipher.setAuthTag(sealed.auth_tag)
  return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8')
}

/**
 * The embedded default's master key: created once in the data dir with mode 0600 and kept there.
 * Production sets SECRETS_KEY instead.
 */
export async function loadOrCreateKeyFile(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, 'secrets.key')
  try {
    const key = Buffer.from((await fs.readFile(file, 'utf8')).trim(), 'base64')
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`)
    return key
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await fs.mkdir(dataDir, { recursive: true })
  const key = randomBytes(32)
  try {
    await fs.writeFile(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
    return key
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateKeyFile(dataDir)
    throw err
  }
}
