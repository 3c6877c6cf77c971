/**
 * A harness's JSON document (Harbor's trial result.json, tb's results.json) read as the service
 * reads one: parsed, then checked by the schema of the fields it uses. Shared by the harnesses.
 */
import type { z } from 'zod'

/**
 * `text` as `schema` says; when it is not JSON, or not of that shape, `unreadable(message)` is
 * thrown, the message naming the document (`what`) and the shape it should have had (`shape`).
 */
export function parseJsonDocument<S extends z.ZodType>(
  text: string,
  schema: S,
  names: { what: string; shape: string },
  unreadable: (message: string) => Error,
): z.infer<S> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw unreadable(`${names.what} is not JSON: ${(err as Error).message}`)
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw unreadable(`${names.what} does not match ${names.shape}: ${parsed.error.message}`)
  return parsed.data
}
