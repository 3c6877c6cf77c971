/**
 * A job's metrics over all its runs: valid n, pass@1 and the mean reward with its interval, tokens,
 * cost, the runs by outcome, pass@k and the errors by class. For a dataset, pass@k and pass@1 pooled
 * over runs of different tasks mean little: the dataset card gives them over the tasks instead.
 */
import { fill, h } from '../../dom.js'
import { count, interval, percent, usd } from '../../format.js'
import type { JobDetail } from '../../shapes.js'
import { progressBar } from '../../widgets.js'

export function renderMetrics(el: HTMLElement, job: JobDetail): void {
  const m = job.metrics
  const dataset = job.n_tasks > 1
  const errors = Object.entries(m.errors_by_class).filter(([, n]) => n > 0)
  const ks = Object.keys(m.pass_at_k).sort((a, b) => Number(a) - Number(b))
  const active =
    (job.runs_by_status.staging ?? 0) + (job.runs_by_status.running ?? 0) + (job.runs_by_status.collecting ?? 0)
  fill(
    el,
    dataset ? h('h2', {}, 'All runs') : null,
    h(
      'div',
      { class: 'tiles' },
      tile('valid n', `${m.valid_n} of ${m.n_runs}`, 'runs the verifier judged (errors excluded)'),
      dataset ? null : tile('pass@1', percent(m.pass_at_k['1'] ?? null)),
      dataset
        ? null
        : tile(
            'mean reward',
            m.mean_reward === null ? '—' : m.mean_reward.toFixed(3),
            m.mean_reward_ci95 ? `95% CI ${interval(m.mean_reward_ci95, 3)}` : undefined,
          ),
      m.tokens.input === null
        ? tile('tokens', '—', 'not reported by this agent')
        : tile(
            'tokens',
            `${count(m.tokens.input)} in`,
            `${count(m.tokens.cache)} cached · ${count(m.tokens.output)} out`,
          ),
      tile('cost', usd(m.cost_usd), m.n_runs_cost_unknown ? `${m.n_runs_cost_unknown} runs without a cost` : undefined),
    ),
    h(
      'div',
      { class: 'bar-wide' },
      progressBar({ ...m.counts, active, queued: job.runs_by_status.queued ?? 0 }, m.n_runs),
    ),
    h(
      'div',
      { class: 'row' },
      dataset
        ? null
        : ks.length
          ? h(
              'table',
              { class: 'passk' },
              h('caption', {}, 'pass@k (unbiased, over valid runs)'),
              h(
                'thead',
                {},
                h('tr', {}, h('th', { scope: 'col' }, 'k'), ...ks.map((k) => h('th', { scope: 'col' }, k))),
              ),
              h(
                'tbody',
                {},
                h(
                  'tr',
                  {},
                  h('th', { scope: 'row' }, 'pass@k'),
                  ...ks.map((k) => h('td', {}, percent(m.pass_at_k[k]))),
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'pass@k appears once runs have been judged.'),
      errors.length
        ? h(
            'table',
            { class: 'errors' },
            h('caption', {}, 'Errors by class'),
            h(
              'tbody',
              {},
              ...errors.map(([cls, n]) =>
                h('tr', {}, h('th', { scope: 'row' }, cls), h('td', { class: 'num' }, String(n))),
              ),
            ),
          )
        : null,
    ),
  )
}

/** A figure with its label and notes (each a line; nulls left out). */
export function tile(label: string, value: string, note?: string | (string | null)[], id?: string): HTMLElement {
  const notes = (Array.isArray(note) ? note : [note]).filter((n): n is string => !!n)
  return h(
    'div',
    { class: 'tile', 'data-tile': id ?? label },
    h('div', { class: 'tile-label' }, label),
    h('div', { class: 'tile-value' }, value),
    ...notes.map((n) => h('div', { class: 'tile-note' }, n)),
  )
}
