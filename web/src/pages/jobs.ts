/**
 * Every job of the user: task, harness, agent, model, status, runs by outcome, pass@1, cost, age.
 * Filters and paging live in the URL (so they survive a reload and can be shared). The list is
 * read again every few seconds while the page is visible. Jobs ticked in the list (two to ten, the
 * first ticked the baseline) open side by side on the compare page.
 */
import { api } from '../api.js'
import { fill, h } from '../dom.js'
import { ago, percent, usd } from '../format.js'
import { navigate } from '../navigate.js'
import { progressBar } from '../widgets.js'
import type { Catalog } from './upload.js'

const PAGE = 25
const REFRESH_MS = 3000
const STATUSES = ['', 'queued', 'running', 'paused', 'completed', 'cancelled', 'failed']
/** What GET /api/compare takes. */
const COMPARE_MAX = 10

export function jobsPage(root: HTMLElement): () => void {
  const params = new URLSearchParams(location.search)
  const status = h(
    'select',
    { name: 'status', id: 'filter-status' },
    ...STATUSES.map((s) => h('option', { value: s }, s || 'any status')),
  )
  status.value = params.get('status') ?? ''
  // The harnesses come from the API's registry; the one in the URL is kept until they arrive.
  const chosenHarness = params.get('harness') ?? ''
  const harness = h(
    'select',
    { name: 'harness', id: 'filter-harness' },
    h('option', { value: '' }, 'any harness'),
    chosenHarness ? h('option', { value: chosenHarness }, chosenHarness) : null,
  )
  harness.value = chosenHarness
  api<Catalog>('/api/harnesses').then(
    (c) => {
      const names = c.harness_options.map((o) => o.name)
      if (chosenHarness && !names.includes(chosenHarness)) names.push(chosenHarness)
      harness.replaceChildren(
        h('option', { value: '' }, 'any harness'),
        ...names.map((name) => h('option', { value: name }, name)),
      )
      harness.value = chosenHarness
    },
    () => undefined,
  )
  const model = h('input', {
    name: 'model',
    id: 'filter-model',
    placeholder: 'model',
    value: params.get('model') ?? '',
  })
  const task = h('input', {
    name: 'task_name',
    id: 'filter-task',
    placeholder: 'task name',
    value: params.get('task_name') ?? '',
  })
  const offset = Number(params.get('offset') ?? 0) || 0
  const body = h('tbody', {})
  const summary = h('p', { class: 'muted', role: 'status' })
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' })
  // In the order ticked: the first is the comparison's baseline. Kept while the list is read again.
  const selected: string[] = []
  const compare = h('button', { type: 'button', id: 'compare-jobs', disabled: true }, 'Compare')
  compare.title = 'Tick two to ten jobs over the same tasks; the first ticked is the baseline.'
  compare.addEventListener('click', () => navigate(`/compare?jobs=${selected.join(',')}`))
  const showSelection = () => {
    compare.textContent = selected.length ? `Compare (${selected.length})` : 'Compare'
    compare.disabled = selected.length < 2 || selected.length > COMPARE_MAX
  }
  const tick = (jobId: string, on: boolean) => {
    const at = selected.indexOf(jobId)
    if (on && at < 0) selected.push(jobId)
    if (!on && at >= 0) selected.splice(at, 1)
    showSelection()
  }

  const apply = (newOffset = 0) => {
    const q = new URLSearchParams()
    for (const el of [status, harness, model, task]) if (el.value.trim()) q.set(el.name, el.value.trim())
    if (newOffset) q.set('offset', String(newOffset))
    navigate(`/${q.size ? `?${q}` : ''}`)
  }
  const filters = h(
    'form',
    { class: 'filters', role: 'search' },
    h('label', {}, h('span', { class: 'sr-only' }, 'Status'), status),
    h('label', {}, h('span', { class: 'sr-only' }, 'Harness'), harness),
    h('label', {}, h('span', { class: 'sr-only' }, 'Model'), model),
    h('label', {}, h('span', { class: 'sr-only' }, 'Task name'), task),
    h('button', { type: 'submit' }, 'Filter'),
  )
  filters.addEventListener('submit', (e) => {
    e.preventDefault()
    apply()
  })
  status.addEventListener('change', () => apply())
  harness.addEventListener('change', () => apply())

  fill(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Jobs'),
      h('span', { class: 'spacer' }),
      compare,
      h('a', { href: '/upload', class: 'button primary' }, 'New job'),
    ),
    filters,
    h(
      'table',
      { class: 'jobs' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Compare')),
          ...['Task', 'Harness', 'Agent', 'Model', 'Status', 'Runs', 'pass@1', 'Cost', 'Age'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      body,
    ),
    summary,
    pager,
  )

  let rows = new Map<string, { key: string; tr: HTMLElement; age: HTMLElement }>()
  let timer: number | undefined
  let stopped = false
  const load = async () => {
    const q = new URLSearchParams(location.search)
    q.set('limit', String(PAGE))
    q.set('offset', String(offset))
    try {
      const list = await api<{ jobs: any[]; total: number }>(`/api/jobs?${q}`)
      // A row stays as it is while its job does (a ticked box keeps its focus); only its age moves on.
      const next = list.jobs.map((j) => {
        const key = JSON.stringify(j)
        const kept = rows.get(j.job_id)
        const row = kept?.key === key ? kept : { key, ...jobRow(j, selected.includes(j.job_id), tick) }
        row.age.textContent = ago(j.created_at)
        return [j.job_id, row] as const
      })
      rows = new Map(next)
      const trs = next.map(([, row]) => row.tr)
      if (trs.length !== body.children.length || trs.some((tr, i) => body.children[i] !== tr))
        body.replaceChildren(...trs)
      if (list.jobs.length === 0)
        fill(body, h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'No jobs yet. Start one with "New job".')))
      summary.textContent = `${list.total} job${list.total === 1 ? '' : 's'}`
      fill(
        pager,
        offset > 0
          ? h('button', { type: 'button', onclick: () => apply(Math.max(0, offset - PAGE)) }, '← Newer')
          : null,
        h(
          'span',
          { class: 'muted' },
          list.total ? `${offset + 1}–${Math.min(offset + PAGE, list.total)} of ${list.total}` : '',
        ),
        offset + PAGE < list.total
          ? h('button', { type: 'button', onclick: () => apply(offset + PAGE) }, 'Older →')
          : null,
      )
    } catch (err) {
      summary.textContent = `Could not load the jobs: ${(err as Error).message}`
    }
    if (!stopped) timer = window.setTimeout(() => void load(), document.hidden ? REFRESH_MS * 5 : REFRESH_MS)
  }
  void load()
  return () => {
    stopped = true
    window.clearTimeout(timer)
  }
}

/** A job's row in the list: its box to tick for a comparison, and its age cell (kept up to date by the caller). */
function jobRow(j: any, ticked: boolean, tick: (jobId: string, on: boolean) => void) {
  const age = h('td', { title: j.created_at })
  const tr = h(
    'tr',
    { 'data-job': j.job_id },
    h(
      'td',
      {},
      h('input', {
        type: 'checkbox',
        'data-select': j.job_id,
        'aria-label': `Compare ${j.task_name} (${j.model})`,
        checked: ticked,
        onchange: (e: Event) => tick(j.job_id, (e.target as HTMLInputElement).checked),
      }),
    ),
    h(
      'td',
      {},
      h('a', { href: `/jobs/${j.job_id}` }, j.task_name),
      j.n_tasks > 1 ? h('span', { class: 'muted' }, ` · ${j.n_tasks} tasks`) : null,
    ),
    h('td', {}, j.harness),
    h('td', {}, j.agent),
    h('td', { class: 'mono' }, j.model),
    h('td', {}, h('span', { class: `badge j-${j.status}` }, j.status)),
    h('td', {}, progressBar(j.progress, j.n_runs)),
    h('td', { class: 'num' }, percent(j.progress?.pass_at_1)),
    h('td', { class: 'num' }, usd(j.progress?.cost_usd)),
    age,
  )
  return { tr, age }
}
