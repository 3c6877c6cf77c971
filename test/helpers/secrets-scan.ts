/** Looks for a secret everywhere the service could have put it. */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Client } from '@temporalio/client'

/** Every file under `dir` (recursively) whose bytes contain `secret`. */
export async function filesContaining(dir: string, secret: string): Promise<string[]> {
  const hits: string[] = []
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    const data = await readFile(file).catch(() => null)
    if (data?.includes(secret)) hits.push(file)
  }
  return hits
}

/** The full history of a workflow, payloads decoded to text, as one string. */
export async function historyText(client: Client, workflowId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory()
  return JSON.stringify(history, (_key, value) =>
    value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value,
  )
}
