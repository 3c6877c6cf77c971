/**
 * `npm run reliability`: runs the fault, bad-input, load and secrets suites against the real service
 * and prints one table of what they measured: faults injected and survived, bad inputs tried and
 * rejected correctly, requests and runs under load and faults, items lost or done twice (must be 0),
 * secrets found (must be 0). Exits 1 when a suite fails or any of those must-be-zero figures is not.
 *
 * The tests write what they measure through test/helpers/reliability.ts when RELIABILITY_REPORT_DIR
 * is set; this script sets it, runs them, and sums the records.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import { THREATS, type ReliabilityRecord, type ReliabilityRow, type Threat } from '../test/helpers/reliability.js'

const SUITES = [
  'test/integration/faults.test.ts',
  'test/integration/worker-crash.test.ts',
  'test/integration/upload-rejections.test.ts',
  'test/integration/route-inputs.test.ts',
  'test/integration/auth.test.ts',
  'test/integration/concurrency.test.ts',
  'test/integration/secrets-sealed.test.ts',
  'test/integration/browser-guards.test.ts',
  'test/integration/import-paths.test.ts',
  'test/integration/worker-import-paths.test.ts',
  'test/integration/upload-task-race.test.ts',
  'test/integration/planted-links.test.ts',
  'test/integration/ssh-safe-files.test.ts',
]

const ROWS: { row: ReliabilityRow; label: string }[] = [
  { row: 'fault', label: 'faults injected / survived' },
  { row: 'run', label: 'runs under faults / ended as asked' },
  { row: 'bad_input', label: 'bad inputs tried / rejected correctly' },
  { row: 'request', label: 'requests under load / answered right' },
  { row: 'secret_scan', label: 'places scanned for secrets / clean' },
  { row: 'attack', label: 'attacks tried / stopped (by kind below)' },
]

async function readRecords(dir: string): Promise<ReliabilityRecord[]> {
  const records: ReliabilityRecord[] = []
  for (const name of await readdir(dir).catch(() => [])) {
    const text = await readFile(path.join(dir, name), 'utf8')
    for (const line of text.split('\n')) if (line.trim()) records.push(JSON.parse(line) as ReliabilityRecord)
  }
  return records
}

function table(records: ReliabilityRecord[]): { text: string; clean: boolean } {
  const header = ['', 'tried', 'ok', 'lost', 'twice', 'secrets found']
  const lines: string[][] = [header]
  let clean = true
  for (const { row, label } of ROWS) {
    const of = records.filter((r) => r.row === row)
    const sum = (f: (r: ReliabilityRecord) => number | undefined) => of.reduce((s, r) => s + (f(r) ?? 0), 0)
    const ok = of.filter((r) => r.ok).length
    const lost = sum((r) => r.lost)
    const twice = sum((r) => r.duplicated)
    const secrets = sum((r) => r.secretsFound)
    if (ok !== of.length || lost > 0 || twice > 0 || secrets > 0) clean = false
    lines.push([label, String(of.length), String(ok), String(lost), String(twice), String(secrets)])
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)))
  const format = (l: string[]) =>
    `| ${l.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return { text: [format(lines[0]!), rule, ...lines.slice(1).map(format)].join('\n'), clean }
}

/** The attacks by what they went after: tried, and stopped. */
function attackTable(records: ReliabilityRecord[]): string {
  const lines = ['| attack on | tried | stopped |', '|---|---:|---:|']
  for (const threat of Object.keys(THREATS) as Threat[]) {
    const of = records.filter((r) => r.row === 'attack' && r.threat === threat)
    lines.push(`| ${THREATS[threat]} | ${of.length} | ${of.filter((r) => r.ok).length} |`)
  }
  return lines.join('\n')
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hr-reliability-'))
  try {
    const started = Date.now()
    const run = await execa('npx', ['vitest', 'run', '--reporter=dot', ...SUITES], {
      env: { RELIABILITY_REPORT_DIR: dir },
      stdio: 'inherit',
      reject: false,
    })
    const records = await readRecords(dir)
    const { text, clean } = table(records)
    const failures = records.filter((r) => !r.ok).map((r) => `  not ok: ${r.row}: ${r.what}`)
    process.stdout.write(
      `\nReliability report (${SUITES.length} suites, ${((Date.now() - started) / 1000).toFixed(0)} s, ` +
        `suites ${run.exitCode === 0 ? 'passed' : 'FAILED'})\n\n${text}\n\n${attackTable(records)}\n${failures.join('\n')}\n`,
    )
    process.exit(run.exitCode === 0 && clean && records.length > 0 ? 0 : 1)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

void main()
