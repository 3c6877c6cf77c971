/**
 * Jobs over the same tasks side by side (`/compare?jobs=<id>,<id>[,…]`, the first the baseline):
 * each other job's paired test against the baseline in words ("B vs A: +0.12 (95% CI −0.03…0.27),
 * t=1.80, df=9, p=0.11 — within noise"), the paired tasks with each job's pass rate and its
 * difference in mean reward from the baseline, and the tasks left out of the pairs, with why. The
 * numbers are the API's (GET /api/compare); read again every few seconds while a job runs.
 */
import { api, ApiError } from '../api.js'
import { fill, h } from '../dom.js'
import { fixed, interval, percent, pValue, signed } from '../format.js'
import { isEnded, type JobView } from '../shapes.js'

const REFRESH_MS = 5000

interface PairedTest {
  mean_difference: number
  ci95: [number, number]
  t: number | null
  df: number
  p_value: number
  verdict: string
  note: string | null
}

interface Comparison {
  baseline: string
  jobs: string[]
  tasks: string[]
  left_out: { job: string; tasks: { task: string; reason: 'missing' | 'no_valid_run' | 'unpaired' }[] }[]
  per_task: {
    task: string
    by_job: { job: string; valid_n: number; pass_rate: number; mean_reward: number; difference: number }[]
  }[]
  vs_baseline: { job: string; n_tasks_paired: number; test: PairedTest | null; reason: string | null }[]
}

const REASONS = { missing: 'not in this job', no_valid_run: 'no valid run', unpaired: 'judged' } as const

export function comparePage(root: HTMLElement): () => void {
  const ids = new URLSearchParams(location.search).get('jobs') ?? ''
  const body = h('div', { id: 'comparison' }, h('p', { class: 'muted' }, 'Loading…'))
  fill(
    root,
    h('p', {}, h('a', { href: '/' }, '← Jobs')),
    h('div', { class: 'page-head' }, h('h1', {}, 'Compare jobs')),
    body,
  )
  document.title = 'Compare · Harbor Runner'

  let timer: number | undefined
  let stopped = false
  const load = async () => {
    try {
      const answer = await api<{ jobs: JobView[]; comparison: Comparison }>(
        `/api/compare?jobs=${encodeURIComponent(ids)}`,
      )
      render(body, answer.jobs, answer.comparison)
      if (!stopped && answer.jobs.some((j) => !isEnded(j.status)))
        timer = window.setTimeout(() => void load(), REFRESH_MS)
    } catch (err) {
      const message = err instanceof ApiError ? err.message : String(err)
      fill(body, h('p', { class: 'form-error', role: 'alert' }, `Could not compare these jobs: ${message}`))
    }
  }
  void load()
  return () => {
    stopped = true
    window.clearTimeout(timer)
  }
}

/** A, B, …: the jobs' names on this page, in the comparison's order. */
function labelOf(index: number): string {
  return String.fromCharCode(65 + index)
}

function render(el: HTMLElement, jobs: JobView[], c: Comparison): void {
  const label = new Map(c.jobs.map((id, i) => [id, labelOf(i)]))
  const others = c.jobs.slice(1)
  fill(
    el,
    jobsTable(jobs, label),
    h('h2', {}, 'Against the baseline'),
    h(
      'ul',
      { class: 'verdicts' },
      c.vs_baseline.map((v) => h('li', { class: 'verdict', 'data-job': v.job }, verdict(v, label, c.baseline))),
    ),
    h(
      'p',
      { class: 'hint' },
      'Paired t-test over the tasks every job has a valid run of, on the difference in mean reward per task. ',
      'Each job is tested against the baseline alone: among many, about one in twenty that differ only by noise ',
      'still reads "more than noise".',
    ),
    h('h2', {}, `Paired tasks (${c.tasks.length})`),
    c.per_task.length
      ? h(
          'table',
          { class: 'compare', id: 'compare-tasks' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Task'),
              c.jobs.map((id) => h('th', { scope: 'col', class: 'num' }, `${label.get(id)} pass rate`)),
              others.map((id) =>
                h(
                  'th',
                  { scope: 'col', class: 'num', title: 'difference in mean reward' },
                  `${label.get(id)} − ${label.get(c.baseline)}`,
                ),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            c.per_task.map((row) =>
              h(
                'tr',
                { 'data-task': row.task },
                h('th', { scope: 'row' }, row.task),
                row.by_job.map((b) =>
                  h(
                    'td',
                    { class: 'num', title: `${b.valid_n} valid runs, mean reward ${fixed(b.mean_reward)}` },
                    percent(b.pass_rate),
                  ),
                ),
                row.by_job
                  .slice(1)
                  .map((b) =>
                    h(
                      'td',
                      { class: `num diff ${b.difference > 0 ? 'up' : b.difference < 0 ? 'down' : ''}` },
                      signed(b.difference),
                    ),
                  ),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No task has a valid run in every job yet.'),
    leftOut(c, label),
  )
}

function jobsTable(jobs: JobView[], label: Map<string, string>): HTMLElement {
  return h(
    'table',
    { class: 'jobs compare-jobs' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['', 'Task', 'Agent', 'Model', 'Status', 'Runs'].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      jobs.map((j, i) =>
        h(
          'tr',
          { 'data-job': j.job_id },
          h(
            'th',
            { scope: 'row' },
            label.get(j.job_id) ?? '?',
            i === 0 ? h('span', { class: 'muted' }, ' baseline') : null,
          ),
          h('td', {}, h('a', { href: `/jobs/${j.job_id}` }, j.task_name)),
          h('td', {}, j.agent),
          h('td', { class: 'mono' }, j.model),
          h('td', {}, h('span', { class: `badge j-${j.status}` }, j.status)),
          h('td', {}, j.n_tasks > 1 ? `${j.n_tasks} tasks × ${j.runs_per_task}` : String(j.n_runs)),
        ),
      ),
    ),
  )
}

/** "B vs A: +0.12 (95% CI −0.03…0.27), t=1.80, df=9, p=0.11 — within noise", over n paired tasks. */
function verdict(v: Comparison['vs_baseline'][number], label: Map<string, string>, baseline: string) {
  const who = `${label.get(v.job)} vs ${label.get(baseline)}`
  const t = v.test
  if (!t) return [h('strong', {}, `${who}: `), `no test — ${v.reason ?? 'too few paired tasks'}`]
  const stats = `${signed(t.mean_difference)} (95% CI ${interval(t.ci95)}), t=${t.t === null ? '—' : t.t.toFixed(2)}, df=${t.df}, ${pValue(t.p_value)}`
  return [
    h('strong', {}, `${who}: `),
    h('span', { class: 'stats' }, stats),
    ' — ',
    h('span', { class: `verdict-word ${t.verdict === 'within noise' ? 'noise' : 'signal'}` }, t.verdict),
    h('span', { class: 'muted' }, ` (mean reward, over ${v.n_tasks_paired} paired tasks)`),
    t.note ? h('div', { class: 'hint' }, t.note) : null,
  ]
}

function leftOut(c: Comparison, label: Map<string, string>): HTMLElement | null {
  const tasks = c.left_out[0]?.tasks.map((t) => t.task) ?? []
  if (tasks.length === 0) return null
  const reasons = new Map(c.left_out.map((l) => [l.job, new Map(l.tasks.map((t) => [t.task, t.reason]))]))
  return h(
    'section',
    { id: 'left-out' },
    h('h2', {}, `Left out (${tasks.length})`),
    h('p', { class: 'hint' }, 'A task is paired only when every job has a valid run of it.'),
    h(
      'table',
      { class: 'compare' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Task'),
          c.jobs.map((id) => h('th', { scope: 'col' }, label.get(id)!)),
        ),
      ),
      h(
        'tbody',
        {},
        tasks.map((task) =>
          h(
            'tr',
            { 'data-task': task },
            h('th', { scope: 'row' }, task),
            c.jobs.map((id) => {
              const reason = reasons.get(id)?.get(task)
              return h('td', { class: reason === 'unpaired' ? 'muted' : '' }, reason ? REASONS[reason] : '')
            }),
          ),
        ),
      ),
    ),
  )
}
