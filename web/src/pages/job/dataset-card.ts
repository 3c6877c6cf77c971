/**
 * A dataset job's summary: accuracy (each task weighs the same) with its two intervals (another draw
 * of tasks like these; the same tasks run again), pass@k over the tasks, Harbor's mean over all valid
 * runs, and the tasks left out for want of a valid run. The numbers are the API's (docs/product.md,
 * "Dataset metrics").
 */
import { fill, h } from '../../dom.js'
import { fixed, interval, percent } from '../../format.js'
import type { DatasetSummary } from '../../shapes.js'
import { tile } from './metrics.js'

const NAMES_SHOWN = 8

export function renderDataset(el: HTMLElement, d: DatasetSummary): void {
  const ks = Object.keys(d.pass_at_k).sort((a, b) => Number(a) - Number(b))
  const half = d.accuracy_ci95 ? (d.accuracy_ci95[1] - d.accuracy_ci95[0]) / 2 : null
  const left = d.tasks_no_valid_run
  fill(
    el,
    h('h2', {}, 'Dataset'),
    h(
      'div',
      { class: 'tiles' },
      tile(
        'accuracy',
        d.accuracy === null ? '—' : `${fixed(d.accuracy)}${half === null ? '' : ` ± ${fixed(half)}`}`,
        [
          d.accuracy_ci95 ? `95% CI ${interval(d.accuracy_ci95, 3)} over tasks` : 'an interval needs two tasks judged',
          d.accuracy_ci95_same_tasks ? `same tasks again: ${interval(d.accuracy_ci95_same_tasks, 3)}` : null,
        ],
        'accuracy',
      ),
      tile('mean reward, all runs', d.mean_reward_runs === null ? '—' : fixed(d.mean_reward_runs), [
        `over ${d.valid_n} valid runs pooled`,
      ]),
      tile(
        'tasks without a valid run',
        `${d.n_tasks_no_valid_run} of ${d.n_tasks}`,
        [
          left.length
            ? `${left.slice(0, NAMES_SHOWN).join(', ')}${left.length > NAMES_SHOWN ? `, and ${left.length - NAMES_SHOWN} more` : ''}`
            : 'every task has been judged at least once',
        ],
        'no-valid-run',
      ),
    ),
    ks.length
      ? h(
          'table',
          { class: 'passk', id: 'dataset-passk' },
          h('caption', {}, 'pass@k over tasks (each task weighs the same)'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'k'), ...ks.map((k) => h('th', { scope: 'col' }, k)))),
          h(
            'tbody',
            {},
            h('tr', {}, h('th', { scope: 'row' }, 'pass@k'), ...ks.map((k) => h('td', {}, percent(d.pass_at_k[k])))),
          ),
        )
      : h('p', { class: 'muted' }, 'pass@k over tasks appears once every task counted has a judged run.'),
  )
}
