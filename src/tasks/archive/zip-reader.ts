/** Opening an uploaded zip with yauzl, its entries' names, and what yauzl's own errors mean. */
import fs from 'node:fs/promises'
import yauzl from 'yauzl'
import type { Entry, ZipFile } from 'yauzl'
import { TaskArchiveError } from '../errors.js'
import { isSystemError, messageOf } from './entry-errors.js'

const ZIP_OPTIONS: yauzl.Options = {
  lazyEntries: true,
  autoClose: false,
  // Names are decoded and validated here, so that each rejection gets its own code.
  decodeStrings: false,
  validateEntrySizes: true,
  strictFileNames: true,
}

export async function openZip(zipPath: string): Promise<ZipFile> {
  let zipfile: ZipFile
  try {
    zipfile = await yauzl.openPromise(zipPath, ZIP_OPTIONS)
  } catch (error) {
    if (isSystemError(error)) throw error
    if (await hasZipSignature(zipPath)) {
      const why = messageOf(error)
      throw new TaskArchiveError('corrupt_archive', `The archive is corrupt or truncated: ${why}`)
    }
    throw new TaskArchiveError('not_a_zip', 'The upload is not a zip archive')
  }
  // Errors are reported through the calls that fail; this only keeps a late close error from crashing.
  zipfile.on('error', () => {})
  return zipfile
}

async function hasZipSignature(zipPath: string): Promise<boolean> {
  const handle = await fs.open(zipPath, 'r')
  try {
    const head = Buffer.alloc(4)
    const { bytesRead } = await handle.read(head, 0, 4, 0)
    if (bytesRead < 4 || head[0] !== 0x50 || head[1] !== 0x4b) return false
    const marker = head.readUInt16LE(2)
    return marker === 0x0403 || marker === 0x0605 || marker === 0x0807
  } finally {
    await handle.close()
  }
}

export function decodeName(entry: Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true)
}

export function centralDirectoryError(error: unknown, entryNumber: number): unknown {
  if (error instanceof TaskArchiveError || isSystemError(error)) return error
  const message = messageOf(error)
  if (/encryption/i.test(message)) {
    const why = `Entry #${entryNumber} uses an encryption that is not supported; upload an unencrypted zip`
    return new TaskArchiveError('encrypted_entry', why)
  }
  const why = `The archive is corrupt at entry #${entryNumber}: ${message}`
  return new TaskArchiveError('corrupt_archive', why)
}
