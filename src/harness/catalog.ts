/**
 * What the installed harnesses offer (agent names, Harbor's environment types), read once from
 * their own enums by each harness's `catalog.py`, for the dashboard's choices. Importing a harness
 * takes a while, so the API starts reading at start-up and answers from the result.
 */
import { execa } from 'execa'
import type { HarnessOffer } from './harness.js'
import { HARNESSES, type HarnessName } from './registry.js'

export type HarnessCatalog = Partial<Record<HarnessName, HarnessOffer>>

export function harnessCatalogLoader(python: string | null): () => Promise<HarnessCatalog> {
  let pending: Promise<HarnessCatalog> | null = null
  const load = async (): Promise<HarnessCatalog> => {
    if (!python) return {}
    const offers = await Promise.all(
      Object.entries(HARNESSES).map(async ([name, harness]) => {
        const result = await execa(python, [harness.catalogScript], { timeout: 120_000 })
        return [name, JSON.parse(result.stdout) as HarnessOffer | null] as const
      }),
    )
    // A harness that is not installed here offers nothing.
    return Object.fromEntries(offers.filter(([, offer]) => offer !== null))
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
