/**
 * One job, live: metrics at the top (valid n, pass@k, mean reward with its interval, error classes,
 * tokens, cost), the runs as a grid coloured by status and outcome, charts of phase durations and
 * of outcomes over time, cancel with confirmation, and the link to the job's workflow in Temporal.
 * Everything follows the job's event stream.
 */
import type { ApiError } from '../api.js'
import { api, follow } from '../api.js'
import { fill, h } from '../dom.js'
import { ago, count, percent, runState, seconds, stateClass, usd } from '../format.js'
import { legend, outcomesOverTime, progressBar, stackedBars } from '../widgets.js'

const PHASES = ['environment_setup', 'agent_setup', 'agent_execution', 'verifier'] as const

export function jobPage(root: HTMLElement, params: Record<string, string>): () => void {
  const jobId = params.job_id!
  const head = h('div', { class: 'page-head' }, h('h1', {}, 'Job'))
  const facts = h('dl', { class: 'facts' })
  const metrics = h('section', { class: 'metrics', 'aria-label': 'Metrics' })
  const grid = h('ol', { class: 'run-grid', 'aria-label': 'Runs' })
  const charts = h('section', { class: 'charts' })
  const live = h('p', { class: 'muted live', role: 'status' }, 'connecting…')
  fill(
    root,
    head,
    facts,
    metrics,
    h(
      'section',
      {},
      h('h2', {}, 'Runs'),
      legend([
        ['s-queued', 'queued'],
        ['s-running', 'running'],
        ['s-passed', 'passed'],
        ['s-failed', 'failed'],
        ['s-error', 'error'],
        ['s-cancelled', 'cancelled'],
      ]),
      grid,
    ),
    charts,
    live,
  )

  const cancel = h('button', { type: 'button', class: 'danger', id: 'cancel-job' }, 'Cancel job')
  cancel.addEventListener('click', () => {
    if (!confirm('Cancel this job? Running runs are stopped; their logs are kept.')) return
    cancel.disabled = true
    api(`/api/jobs/${jobId}/cancel`, { method: 'POST' }).then(
      () => (cancel.textContent = 'Cancelling…'),
      (err: ApiError) => {
        cancel.disabled = false
        live.textContent = err.message
      },
    )
  })

  const render = (job: any) => {
    document.title = `${job.task_name} · Harbor Runner`
    const ended = ['completed', 'cancelled', 'failed'].includes(job.status)
    fill(
      head,
      h('h1', {}, job.task_name, ' ', h('span', { class: `badge j-${job.status}`, id: 'job-status' }, job.status)),
      h('span', { class: 'spacer' }),
      job.temporal_url
        ? h(
            'a',
            { href: job.temporal_url, target: '_blank', rel: 'noopener', class: 'button ghost' },
            'Workflow in Temporal ↗',
          )
        : null,
      ended ? null : cancel,
    )
    fill(
      facts,
      ...fact('Harness', job.harness),
      ...fact('Agent', job.agent),
      ...fact('Model', job.model),
      ...fact('Environment', job.environment),
      ...fact('Runs', `${job.n_runs} (at most ${job.max_parallel} at once)`),
      ...fact('Created', ago(job.created_at)),
      job.error ? fact('Error', job.error) : null,
    )
    renderMetrics(metrics, job)
    renderGrid(grid, jobId, job.runs)
    const withPhases = job.runs.filter((r: any) => r.phase_durations)
    fill(
      charts,
      h('h2', {}, 'Charts'),
      h(
        'div',
        { class: 'chart-row' },
        h(
          'figure',
          {},
          stackedBars(
            withPhases.map((r: any) => ({ label: `#${r.run_number}`, parts: r.phase_durations })),
            PHASES,
            'Run durations by phase',
          ),
          h('figcaption', {}, 'Run durations by phase'),
          legend(PHASES.map((p) => [`ph-${p}`, p.replace('_', ' ')])),
        ),
        h(
          'figure',
          {},
          outcomesOverTime(job.runs, job.started_at ?? job.created_at, 'Outcomes over time'),
          h('figcaption', {}, 'Runs finished over time, by outcome'),
        ),
      ),
    )
  }

  const stream = follow({ purpose: 'job_events', job_id: jobId }, { job: render }, (state) => {
    live.textContent = state === 'live' ? 'live' : state === 'ended' ? 'job ended' : 'reconnecting…'
  })
  return () => stream.close()
}

function fact(term: string, value: string) {
  return [h('dt', {}, term), h('dd', {}, value)]
}

function renderMetrics(el: HTMLElement, job: any): void {
  const m = job.metrics
  const errors = Object.entries(m.errors_by_class as Record<string, number>).filter(([, n]) => n > 0)
  const ks = Object.keys(m.pass_at_k as Record<string, number>).sort((a, b) => Number(a) - Number(b))
  fill(
    el,
    h(
      'div',
      { class: 'tiles' },
      tile('valid n', `${m.valid_n} of ${m.n_runs}`, 'runs the verifier judged (errors excluded)'),
      tile('pass@1', percent(m.pass_at_k['1'] ?? null)),
      tile(
        'mean reward',
        m.mean_reward === null ? '—' : m.mean_reward.toFixed(3),
        m.mean_reward_ci95
          ? `95% CI ${m.mean_reward_ci95[0].toFixed(3)} – ${m.mean_reward_ci95[1].toFixed(3)}`
          : undefined,
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
      progressBar(
        {
          ...m.counts,
          active: job.runs_by_status.staging + job.runs_by_status.running + job.runs_by_status.collecting,
          queued: job.runs_by_status.queued,
        },
        m.n_runs,
      ),
    ),
    h(
      'div',
      { class: 'row' },
      ks.length
        ? h(
            'table',
            { class: 'passk' },
            h('caption', {}, 'pass@k (unbiased, over valid runs)'),
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'k'), ...ks.map((k) => h('th', { scope: 'col' }, k)))),
            h(
              'tbody',
              {},
              h('tr', {}, h('th', { scope: 'row' }, 'pass@k'), ...ks.map((k) => h('td', {}, percent(m.pass_at_k[k])))),
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

function tile(label: string, value: string, note?: string) {
  return h(
    'div',
    { class: 'tile' },
    h('div', { class: 'tile-label' }, label),
    h('div', { class: 'tile-value' }, value),
    note ? h('div', { class: 'tile-note' }, note) : null,
  )
}

function renderGrid(grid: HTMLElement, jobId: string, runs: any[]): void {
  fill(
    grid,
    runs.map((r) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            href: `/jobs/${jobId}/runs/${r.run_number}`,
            class: `run-tile ${stateClass(r)}`,
            'data-run': r.run_number,
            'data-state': runState(r),
            title: `Run ${r.run_number}: ${runState(r)}${r.phase ? ` · ${r.phase}` : ''}${r.duration_sec ? ` · ${seconds(r.duration_sec)}` : ''}`,
          },
          h('span', { class: 'run-number' }, String(r.run_number)),
          h('span', { class: 'sr-only' }, ` ${runState(r)}`),
        ),
      ),
    ),
  )
}
