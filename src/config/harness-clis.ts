/**
 * Each registered harness's CLI, as named for every host by its variable (HARBOR_BIN, TB_BIN) or
 * for one host by its HOSTS entry's field (harbor_bin, tb_bin): see src/harness/registry.ts.
 */
import { z } from 'zod'
import type { HarnessCli } from '../harness/harness.js'
import { harnessEntries, type HarnessName } from '../harness/registry.js'

const optionalPath = () => z.string().min(1).optional()

export const HARNESS_CLI_VARIABLES = Object.fromEntries(
  harnessEntries().map(([, h]) => [h.cli.variable, optionalPath()]),
)

export const HARNESS_CLI_HOST_FIELDS = Object.fromEntries(
  harnessEntries().map(([, h]) => [h.cli.hostField, optionalPath()]),
)

/** The harness CLIs `values` name, each under its `key`; `resolve` makes a path of each. */
export function cliPaths(
  values: object,
  key: (cli: HarnessCli) => string,
  resolve: (named: string) => string,
): Partial<Record<HarnessName, string>> {
  const named = values as Record<string, unknown>
  return Object.fromEntries(
    harnessEntries().flatMap(([name, h]) => {
      const value = named[key(h.cli)]
      return typeof value === 'string' ? [[name, resolve(value)]] : []
    }),
  )
}
