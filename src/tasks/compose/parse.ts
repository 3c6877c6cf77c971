/**
 * Untrusted YAML to plain values, safely. The `yaml` package composes documents recursively, and a
 * few thousand nested brackets overflow the stack where V8 cannot recover (the process dies), so the
 * nesting is measured first on the parser's concrete syntax tree, which is built without recursion,
 * and refused past {@link MAX_DEPTH}. Then: one document only, duplicate keys refused (Compose and
 * the policy must read the same values), merge keys resolved, Compose's `!reset` and `!override`
 * applied, at most 100 aliases (an alias bomb is refused).
 */
import { Composer, type CST, Parser, Scalar, visit } from 'yaml'

/** Far above any real compose file (a service's healthcheck test is about 5 deep). */
export const MAX_DEPTH = 64

export type YamlResult = { ok: true; value: unknown } | { ok: false; reason: string }

export function parseYaml(text: string): YamlResult {
  // Brackets counted anywhere, in strings too: an over-estimate that refuses the worst at once.
  if (bracketDepth(text) > MAX_DEPTH) return tooDeep()
  const tokens = [...new Parser().parse(text)]
  if (tokens.some((token) => cstDepth(token) > MAX_DEPTH)) return tooDeep()
  const documents = [...new Composer({ merge: true, uniqueKeys: true }).compose(tokens, true, text.length)]
  if (documents.length > 1) return { ok: false, reason: 'it holds more than one YAML document' }
  const [document] = documents
  const [error] = document?.errors ?? []
  if (document === undefined || error !== undefined) return { ok: false, reason: firstLine(error?.message ?? '') }
  visit(document, {
    Node: (_key, node) => {
      if (node.tag === '!reset') return new Scalar(null)
      if (node.tag === '!override') node.tag = undefined
      return undefined
    },
  })
  try {
    return { ok: true, value: document.toJS({ maxAliasCount: 100 }) }
  } catch (err) {
    return { ok: false, reason: firstLine((err as Error).message) }
  }
}

function tooDeep(): YamlResult {
  return { ok: false, reason: `it nests collections more than ${MAX_DEPTH} deep` }
}

function bracketDepth(text: string): number {
  let depth = 0
  let max = 0
  for (const char of text) {
    if (char === '[' || char === '{') max = Math.max(max, ++depth)
    else if ((char === ']' || char === '}') && depth > 0) depth--
  }
  return max
}

/** How deep collections nest in one CST token, walked with a stack of our own. */
function cstDepth(root: CST.Token): number {
  let max = 0
  const stack: [CST.Token, number][] = [[root, 0]]
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [token, depth] = entry
    max = Math.max(max, depth)
    if (token.type === 'document' && token.value) stack.push([token.value, depth])
    if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      for (const item of token.items) {
        if ('key' in item && item.key) stack.push([item.key, depth + 1])
        if (item.value) stack.push([item.value, depth + 1])
      }
    }
  }
  return max
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? ''
  return line.length > 200 ? `${line.slice(0, 197)}...` : line
}
