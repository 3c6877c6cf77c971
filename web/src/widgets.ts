/** Pieces shared by pages: the runs progress bar, the pass@k table, charts. */
import { h, svg } from './dom.js'

const SEGMENTS = [
  ['passed', 's-passed'],
  ['failed', 's-failed'],
  ['error', 's-error'],
  ['cancelled', 's-cancelled'],
  ['active', 's-running'],
  ['queued', 's-queued'],
] as const

/** A bar of a job's runs by outcome (passed, failed, error, cancelled, running, queued). */
export function progressBar(progress: Record<string, number> | undefined, total: number): HTMLElement {
  const parts = SEGMENTS.filter(([k]) => (progress?.[k] ?? 0) > 0)
  const label = parts.map(([k]) => `${progress![k]} ${k === 'active' ? 'running' : k}`).join(', ') || `${total} runs`
  return h(
    'div',
    { class: 'bar', role: 'img', 'aria-label': label, title: label },
    ...parts.map(([k, cls]) => {
      // Set through the CSSOM: the page's Content-Security-Policy refuses style attributes.
      const segment = h('span', { class: cls })
      segment.style.flexGrow = String(progress![k])
      return segment
    }),
  )
}

/** A horizontal stacked bar chart: one bar per item, one segment per part, in seconds. */
export function stackedBars(
  items: { label: string; parts: Record<string, number> }[],
  order: readonly string[],
  title: string,
): Element {
  const total = (i: (typeof items)[number]) => order.reduce((sum, part) => sum + (i.parts[part] ?? 0), 0)
  const max = Math.max(1, ...items.map(total))
  const rowH = 16
  const left = 56
  const width = 560
  const height = items.length * rowH + 28
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': title })
  items.forEach((item, i) => {
    let x = left
    const y = i * rowH + 4
    chart.append(svg('text', { x: left - 6, y: y + 10, 'text-anchor': 'end', class: 'axis' }, item.label))
    for (const part of order) {
      const value = item.parts[part] ?? 0
      if (value <= 0) continue
      const w = (value / max) * (width - left - 10)
      chart.append(
        svg(
          'rect',
          { x, y, width: Math.max(w, 1), height: rowH - 4, class: `ph-${part}` },
          svg('title', {}, `${item.label}: ${part} ${value.toFixed(1)} s`),
        ),
      )
      x += w
    }
  })
  chart.append(
    svg('text', { x: width - 10, y: height - 6, 'text-anchor': 'end', class: 'axis' }, `${max.toFixed(0)} s`),
  )
  return chart
}

/** Cumulative runs finished by outcome over time, as step lines. */
export function outcomesOverTime(
  runs: { finished_at: string | null; outcome: string | null; status: string }[],
  since: string,
  title: string,
): Element {
  const done = runs
    .filter((r) => r.finished_at)
    .map((r) => ({
      t: Date.parse(r.finished_at!),
      kind: r.status === 'cancelled' ? 'cancelled' : (r.outcome ?? 'cancelled'),
    }))
    .sort((a, b) => a.t - b.t)
  const width = 560
  const height = 160
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': title })
  if (done.length === 0) {
    chart.append(svg('text', { x: 10, y: 20, class: 'axis' }, 'No run has finished yet.'))
    return chart
  }
  const t0 = Math.min(Date.parse(since), done[0]!.t)
  const t1 = Math.max(t0 + 1000, done.at(-1)!.t)
  const n = runs.length
  const x = (t: number) => 40 + ((t - t0) / (t1 - t0)) * (width - 50)
  const y = (v: number) => height - 20 - (v / n) * (height - 30)
  for (const kind of ['passed', 'failed', 'error', 'cancelled']) {
    let c = 0
    let d = `M ${x(t0)} ${y(0)}`
    for (const e of done) {
      if (e.kind !== kind) continue
      d += ` H ${x(e.t)} V ${y(++c)}`
    }
    if (c === 0) continue
    d += ` H ${x(t1)}`
    chart.append(svg('path', { d, class: `line s-${kind}` }, svg('title', {}, `${kind}: ${c}`)))
  }
  chart.append(svg('text', { x: 4, y: y(n) + 4, class: 'axis' }, String(n)))
  chart.append(svg('text', { x: 4, y: y(0), class: 'axis' }, '0'))
  chart.append(
    svg(
      'text',
      { x: width - 10, y: height - 4, 'text-anchor': 'end', class: 'axis' },
      `${((t1 - t0) / 1000).toFixed(0)} s`,
    ),
  )
  return chart
}

export function legend(entries: [string, string][]): HTMLElement {
  return h(
    'ul',
    { class: 'legend' },
    ...entries.map(([cls, label]) => h('li', {}, h('span', { class: `swatch ${cls}` }), label)),
  )
}
