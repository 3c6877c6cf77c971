/**
 * Receives a multipart/form-data body as a stream: the file part goes straight to disk under a size
 * limit (never held whole in memory), the other parts are collected as short text fields.
 */
import { createWriteStream } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import busboy from 'busboy'
import { ApiError } from '../errors.js'

export interface ReceivedUpload {
  fields: Record<string, string>
  file: { path: string; filename: string; bytes: number } | null
}

export interface MultipartOptions {
  /** Where the file part is written. */
  filePath: string
  fileField: string
  maxFileBytes: number
  allowedFields: readonly string[]
  maxFieldChars: number
}

export async function receiveMultipart(request: Request, options: MultipartOptions): Promise<ReceivedUpload> {
  const contentType = request.headers.get('content-type') ?? ''
  if (!/^multipart\/form-data\b/i.test(contentType)) {
    throw new ApiError(415, 'unsupported_media_type', 'the upload must be multipart/form-data')
  }
  if (!request.body) throw new ApiError(400, 'malformed_multipart', 'the request has no body')

  let parser: busboy.Busboy
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      limits: {
        // Two, so that a second file part gets its own error (duplicate_field) rather than too_many_parts.
        files: 2,
        fileSize: options.maxFileBytes,
        fields: options.allowedFields.length,
        fieldSize: options.maxFieldChars,
        parts: options.allowedFields.length + 2,
      },
    })
  } catch (err) {
    throw new ApiError(400, 'malformed_multipart', `malformed multipart header: ${(err as Error).message}`)
  }

  const body = Readable.fromWeb(request.body as WebReadableStream<Uint8Array>)
  const fields: Record<string, string> = {}
  let file: ReceivedUpload['file'] = null
  let failure: unknown = null
  const writes: Promise<void>[] = []
  // The first failure wins, and reading the rest of the body stops there.
  const fail = (err: unknown) => {
    failure ??= err
    body.destroy()
  }

  let fileSeen = false
  parser.on('file', (name, stream, info) => {
    if (name !== options.fileField) {
      fail(
        new ApiError(
          400,
          'unknown_field',
          `unexpected file field ${JSON.stringify(name)}; the archive goes in "${options.fileField}"`,
          name,
        ),
      )
      stream.resume()
      return
    }
    if (fileSeen) {
      fail(new ApiError(400, 'duplicate_field', `field "${name}" appears more than once: send one archive`, name))
      stream.resume()
      return
    }
    fileSeen = true
    const received = { path: options.filePath, filename: info.filename ?? '', bytes: 0 }
    stream.on('data', (chunk: Buffer) => {
      received.bytes += chunk.length
    })
    stream.on('limit', () => {
      fail(
        new ApiError(
          413,
          'upload_too_large',
          `the archive exceeds the upload limit of ${options.maxFileBytes} bytes`,
          name,
        ),
      )
    })
    writes.push(
      pipeline(stream, createWriteStream(options.filePath, { mode: 0o600 })).then(
        () => {
          file = received
        },
        (err: NodeJS.ErrnoException) => {
          fail(
            err.code === 'ENOSPC'
              ? new ApiError(507, 'insufficient_storage', 'the server has no disk space left for this upload')
              : err,
          )
          // The parser waits for this part to take the rest of it, and never would. Stopping the body
          // stops it only while the body has more to read: one already read to its end (the disk
          // filled up behind it) would leave the request unanswered.
          parser.destroy()
        },
      ),
    )
  })
  parser.on('field', (name, value, info) => {
    if (name === options.fileField) {
      fail(new ApiError(400, 'invalid_file', `field "${name}" must be a file part (with a filename), not text`, name))
    } else if (!options.allowedFields.includes(name)) {
      fail(new ApiError(400, 'unknown_field', `unknown field ${JSON.stringify(name)}`, name))
    } else if (info.valueTruncated) {
      fail(
        new ApiError(
          400,
          `invalid_${name}`,
          `field "${name}" is longer than ${options.maxFieldChars} characters`,
          name,
        ),
      )
    } else if (name in fields) {
      fail(new ApiError(400, 'duplicate_field', `field "${name}" appears more than once`, name))
    } else {
      fields[name] = value
    }
  })
  const tooMany = (what: string) => () =>
    fail(new ApiError(400, 'too_many_parts', `the form has too many ${what}; expected one file and known fields only`))
  parser.on('filesLimit', tooMany('files'))
  parser.on('fieldsLimit', tooMany('fields'))
  parser.on('partsLimit', tooMany('parts'))

  try {
    await pipeline(body, parser)
  } catch (err) {
    fail(failure ?? new ApiError(400, 'malformed_multipart', `malformed multipart body: ${(err as Error).message}`))
  }
  await Promise.all(writes)
  if (failure) throw failure
  return { fields, file }
}
