/**
 * What the installed harnesses offer (agent names, Harbor's environment types), read once from
 * their own enums by catalog.py, for the dashboard's choices. Importing both harnesses takes
 * seconds, so the API starts reading at start-up and answers from the result.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'

export interface HarnessOffer {
  agents: string[]
  environments: string[]
}

export type HarnessCatalog = Partial<Record<'harbor' | 'terminus', HarnessOffer>>

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'catalog.py')

export function harnessCatalogLoader(python: string | null): () => Promise<HarnessCatalog> {
  let pending: Promise<HarnessCatalog> | null = null
  const load = async (): Promise<HarnessCatalog> => {
    if (!python) return {}
    const result = await execa(python, [SCRIPT], { timeout: 120_000 })
    return JSON.parse(result.stdout) as HarnessCatalog
  }
  return () => {
    // A failed read is tried again at the next request rather than remembered.
    pending ??= load().catch((err: unknown) => {
      pending = null
      throw err
    })
    return pending
  }
}
