/**
 * One job, live: its controls (pause or resume, cancel with confirmation, retry the errors of a
 * class, re-run as a new job), for a dataset its summary (accuracy and its intervals, pass@k over
 * tasks), metrics (valid n, pass@k, mean reward with its interval, error classes, tokens, cost), the
 * tasks × runs grid coloured by status and outcome, charts of phase durations and of outcomes over
 * time, and the link to the job's workflow in Temporal. Everything follows the job's event stream.
 */
import { follow, type Follow } from '../api.js'
import { fill, h } from '../dom.js'
import { ago } from '../format.js'
import type { JobDetail, RunView } from '../shapes.js'
import { legend, outcomesOverTime, stackedBars } from '../widgets.js'
import { jobControls } from './job/controls.js'
import { renderDataset } from './job/dataset-card.js'
import { renderMetrics } from './job/metrics.js'
import { rerunForm } from './job/rerun-form.js'
import { taskGrid } from './job/task-grid.js'

const PHASES = ['environment_setup', 'agent_setup', 'agent_execution', 'verifier'] as const
/** The phase chart shows at most this many runs (the last to finish): a bar each. */
const PHASE_CHART_RUNS = 50

export function jobPage(root: HTMLElement, params: Record<string, string>): () => void {
  const jobId = params.job_id!
  const title = h('span', {}, 'Job')
  const badge = h('span', { class: 'badge', id: 'job-status' })
  const temporal = h('span', {})
  const controls = jobControls(jobId, {
    changed: (job) => setStatus(job.status),
    retried: () => reopen(),
  })
  const rerun = rerunForm(jobId)
  const facts = h('dl', { class: 'facts' })
  const dataset = h('section', { class: 'dataset', 'aria-label': 'Dataset', hidden: true })
  const metrics = h('section', { class: 'metrics', 'aria-label': 'Metrics' })
  const grid = taskGrid(jobId)
  const charts = h('section', { class: 'charts' })
  const live = h('p', { class: 'muted live', role: 'status' }, 'connecting…')
  fill(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, title, ' ', badge),
      h('span', { class: 'spacer' }),
      temporal,
      controls.buttons,
    ),
    controls.message,
    facts,
    h('div', { class: 'control-bar' }, controls.retry, rerun.el),
    dataset,
    metrics,
    h(
      'section',
      {},
      h('h2', {}, 'Tasks and runs'),
      legend([
        ['s-queued', 'queued'],
        ['s-running', 'running'],
        ['s-passed', 'passed'],
        ['s-failed', 'failed'],
        ['s-error', 'error'],
        ['s-cancelled', 'cancelled'],
      ]),
      grid.el,
    ),
    charts,
    live,
  )

  const setStatus = (status: string) => {
    badge.className = `badge j-${status}`
    badge.textContent = status
  }
  let charted = ''
  const render = (job: JobDetail) => {
    document.title = `${job.task_name} · Harbor Runner`
    title.textContent = job.task_name
    setStatus(job.status)
    if (job.temporal_url && !temporal.firstChild) {
      temporal.append(
        h(
          'a',
          { href: job.temporal_url, target: '_blank', rel: 'noopener', class: 'button ghost' },
          'Workflow in Temporal ↗',
        ),
      )
    }
    controls.update(job)
    rerun.update(job)
    renderFacts(facts, job)
    dataset.hidden = job.n_tasks <= 1
    if (job.n_tasks > 1) renderDataset(dataset, job.dataset)
    renderMetrics(metrics, job)
    grid.update(job)
    // Charts change only as runs finish or phases end: drawn again only then.
    const chartKey = job.runs.map((r) => `${r.finished_at}${JSON.stringify(r.phase_durations)}`).join()
    if (chartKey !== charted) {
      charted = chartKey
      renderCharts(charts, job)
    }
  }

  let ended = false
  const open = (): Follow =>
    follow({ purpose: 'job_events', job_id: jobId }, { job: render }, (state) => {
      ended = state === 'ended'
      live.textContent = state === 'live' ? 'live' : state === 'ended' ? 'job ended' : 'reconnecting…'
    })
  let stream = open()
  /** After a retry an ended job runs again: its stream, closed at its end, is opened anew. */
  const reopen = () => {
    if (!ended) return
    stream.close()
    stream = open()
  }
  return () => stream.close()
}

function renderFacts(el: HTMLElement, job: JobDetail): void {
  const fact = (term: string, ...value: (Node | string)[]) => [h('dt', {}, term), h('dd', {}, ...value)]
  fill(
    el,
    fact('Harness', job.harness),
    fact('Agent', job.agent),
    fact('Model', job.model),
    fact('Environment', job.environment),
    job.n_tasks > 1
      ? fact('Runs', `${job.n_runs}: ${job.n_tasks} tasks × ${job.runs_per_task} (at most ${job.max_parallel} at once)`)
      : fact('Runs', `${job.n_runs} (at most ${job.max_parallel} at once)`),
    job.source_job_id ? fact('Re-run of', h('a', { href: `/jobs/${job.source_job_id}` }, job.source_job_id)) : null,
    fact('Created', ago(job.created_at)),
    job.error ? fact('Error', job.error) : null,
  )
}

function renderCharts(el: HTMLElement, job: JobDetail): void {
  const withPhases = job.runs.filter((r) => r.phase_durations)
  const shown = lastFinished(withPhases, PHASE_CHART_RUNS)
  fill(
    el,
    h('h2', {}, 'Charts'),
    h(
      'div',
      { class: 'chart-row' },
      h(
        'figure',
        {},
        stackedBars(
          shown.map((r) => ({ label: `#${r.run_number}`, parts: r.phase_durations! })),
          PHASES,
          'Run durations by phase',
        ),
        h(
          'figcaption',
          {},
          'Run durations by phase',
          shown.length < withPhases.length ? ` (the last ${shown.length} of ${withPhases.length} to finish)` : '',
        ),
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

/** The `n` runs that finished last, in run order. */
function lastFinished(runs: RunView[], n: number): RunView[] {
  if (runs.length <= n) return runs
  const last = [...runs].sort((a, b) => (a.finished_at ?? '').localeCompare(b.finished_at ?? '')).slice(-n)
  return last.sort((a, b) => a.run_number - b.run_number)
}
