/**
 * Every harness the service runs, by name: the one list the API, the configuration, the host checks
 * and the runtime read. A harness is a folder of its own (see harness.ts); adding one is adding its
 * folder and its line here (and its task checks to tasks/check_task.py, if it has any).
 */
import { harbor } from './harbor/index.js'
import type { HarnessDefinition } from './harness.js'
import { terminus } from './terminus/index.js'

export const HARNESSES = { harbor, terminus } as const satisfies Record<string, HarnessDefinition>

export type HarnessName = keyof typeof HARNESSES

export const HARNESS_NAMES = Object.keys(HARNESSES) as [HarnessName, ...HarnessName[]]

/** The harness of an upload that names none. */
export const DEFAULT_HARNESS: HarnessName = 'harbor'

export function isHarnessName(name: string): name is HarnessName {
  return Object.hasOwn(HARNESSES, name)
}

/** The harnesses as `[name, definition]` pairs, in the registry's order. */
export function harnessEntries(): [HarnessName, HarnessDefinition][] {
  return Object.entries(HARNESSES) as [HarnessName, HarnessDefinition][]
}
