/**
 * The documentation stays whole and self-contained: every relative link in the repository's Markdown
 * files names a file or directory inside the repository (and a heading of it, when it names one), and
 * every variable the service reads is documented in docs/configuration.md and .env.example.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ENV_KEYS } from '../../../src/config.js'
import { PROJECT_ROOT } from '../../../src/paths.js'

/** Not the repository's own documents: dependencies, local data, test output. */
const SKIPPED_DIRS = new Set(['node_modules', '.venv', '.data', '.git', 'test-results'])

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : markdownFiles(full)
    return entry.isFile() && entry.name.endsWith('.md') ? [full] : []
  })
}

/** The text outside fenced code blocks and code spans, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '')
}

/** Inline links and images `[text](target "title")`, and reference definitions `[label]: target`. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown)
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!)
  const references = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!)
  return [...inline, ...references]
}

/** The anchors GitHub gives a file's headings: lowercased, punctuation dropped, spaces to dashes. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const markdownWithoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
  for (const [, heading] of markdownWithoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    let anchor = base
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`
    anchors.add(anchor)
  }
  return anchors
}

/** What is wrong with one link of `file`, or null when it resolves inside the repository. */
function problemWith(file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return null
  const [rawPath, anchor] = target.split('#', 2) as [string, string | undefined]
  const linkPath = decodeURIComponent(rawPath)
  if (linkPath.startsWith('/')) return 'an absolute path'
  const resolved = linkPath === '' ? file : path.resolve(path.dirname(file), linkPath)
  const inside = path.relative(PROJECT_ROOT, resolved)
  if (inside.startsWith('..') || path.isAbsolute(inside)) return 'outside the repository'
  let stats
  try {
    stats = statSync(resolved)
  } catch {
    return 'no such file'
  }
  if (anchor && stats.isFile() && resolved.endsWith('.md')) {
    if (!headingAnchors(readFileSync(resolved, 'utf8')).has(anchor)) return `no heading #${anchor}`
  }
  return null
}

describe('the Markdown documents', () => {
  const files = markdownFiles(PROJECT_ROOT)

  it('are found: the README, ARCHITECTURE.md and docs/', () => {
    const names = files.map((f) => path.relative(PROJECT_ROOT, f))
    expect(names).toEqual(
      expect.arrayContaining(['README.md', 'ARCHITECTURE.md', 'docs/product.md', 'docs/configuration.md']),
    )
  })

  it('link only to files and headings inside the repository', () => {
    const broken = files.flatMap((file) =>
      linkTargets(readFileSync(file, 'utf8')).flatMap((target) => {
        const problem = problemWith(file, target)
        return problem ? [`${path.relative(PROJECT_ROOT, file)}: (${target}) ${problem}`] : []
      }),
    )
    expect(broken).toEqual([])
  })
})

describe('the configuration reference', () => {
  const reference = readFileSync(path.join(PROJECT_ROOT, 'docs/configuration.md'), 'utf8')
  const example = readFileSync(path.join(PROJECT_ROOT, '.env.example'), 'utf8')

  it('documents every variable of src/config.ts in docs/configuration.md and .env.example', () => {
    const undocumented = ENV_KEYS.filter((key) => !reference.includes(`\`${key}\``))
    const notInExample = ENV_KEYS.filter((key) => !new RegExp(`\\b${key}\\b`).test(example))
    expect({ undocumented, notInExample }).toEqual({ undocumented: [], notInExample: [] })
  })
})

describe('the link and anchor readers', () => {
  it('read inline links, images and reference definitions, not code', () => {
    const text = [
      'See [a](docs/a.md#x) and ![img](web/i.png "title") and <https://example.com>.',
      '`[not](a/link.md)`',
      '```',
      '[nor](this.md)',
      '```',
      '[ref]: ../outside.md',
    ].join('\n')
    expect(linkTargets(text)).toEqual(['docs/a.md#x', 'web/i.png', '../outside.md'])
  })

  it('anchor headings as GitHub does', () => {
    const anchors = headingAnchors(
      [
        '# Sizing for 600 and 6000 concurrent runs',
        '### `GET /api/jobs/{job_id}/runs/{n}/logs/stream`',
        '## 1. One worker process (2026-11-29)',
        '## Notes',
        '## Notes',
      ].join('\n'),
    )
    expect([...anchors]).toEqual([
      'sizing-for-600-and-6000-concurrent-runs',
      'get-apijobsjob_idrunsnlogsstream',
      '1-one-worker-process-2026-11-29',
      'notes',
      'notes-1',
    ])
  })

  it('refuse links that leave the repository or name nothing', () => {
    const readme = path.join(PROJECT_ROOT, 'README.md')
    expect(problemWith(readme, '../elsewhere/notes.md')).toBe('outside the repository')
    expect(problemWith(readme, 'docs/no-such-page.md')).toBe('no such file')
    expect(problemWith(readme, '/etc/passwd')).toBe('an absolute path')
    expect(problemWith(readme, 'docs/api.md#no-such-heading')).toBe('no heading #no-such-heading')
    expect(problemWith(readme, 'docs/api.md#errors')).toBeNull()
    expect(problemWith(readme, 'https://temporal.io')).toBeNull()
  })
})
