/**
 * A job's tasks × runs: one row per task (its name, format, valid runs, pass rate, mean reward with its
 * interval, pass@k) holding a cell per run of that task, coloured by the run's state and linking to
 * its page. Rows sort by task order, name or pass rate.
 *
 * A job's event carries the whole job, often: the grid is built once and each event repaints only
 * the cells and numbers that changed, and a new order moves the rows it has rather than building
 * new ones, so a job of a thousand runs stays smooth while it runs.
 */
import { h } from '../../dom.js'
import { fixed, interval, percent, runState, seconds, stateClass } from '../../format.js'
import type { JobDetail, RunView, TaskView } from '../../shapes.js'

type SortKey = 'index' | 'name' | 'pass_rate'
type Direction = 'ascending' | 'descending'

interface Row {
  tr: HTMLTableRowElement
  task: TaskView
  valid: HTMLElement
  passRate: HTMLElement
  reward: HTMLElement
  rewardCi: HTMLElement
  passAtK: HTMLElement
}

interface Cell {
  a: HTMLAnchorElement
  painted: string
}

export interface TaskGrid {
  el: HTMLElement
  update(job: JobDetail): void
}

export function taskGrid(jobId: string): TaskGrid {
  const body = h('tbody', {})
  const kHead = h('span', {}, 'pass@k')
  const sort = { key: 'index' as SortKey, direction: 'ascending' as Direction }
  const sortButtons = new Map<SortKey, HTMLTableCellElement>()
  const sortable = (key: SortKey, label: string, cls?: string) => {
    const th = h(
      'th',
      { scope: 'col', class: cls },
      h('button', { type: 'button', class: 'sort', 'data-sort': key, onclick: () => sortBy(key) }, label),
    )
    sortButtons.set(key, th)
    return th
  }
  const table = h(
    'table',
    { class: 'task-grid', id: 'task-grid' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        sortable('index', '#', 'num'),
        sortable('name', 'Task'),
        h('th', { scope: 'col' }, 'Format'),
        h('th', { scope: 'col', class: 'num', title: 'valid runs (passed or failed) of all runs' }, 'Valid'),
        sortable('pass_rate', 'Pass rate', 'num'),
        h('th', { scope: 'col', class: 'num' }, 'Mean reward (95% CI)'),
        h('th', { scope: 'col', class: 'num' }, kHead),
        h('th', { scope: 'col' }, 'Runs'),
      ),
    ),
    body,
  )
  const el = h('div', { class: 'task-grid-wrap' }, table)

  let rows: Row[] = []
  let cells = new Map<number, Cell>()
  let shape = ''
  let order: Row[] = []

  const build = (job: JobDetail) => {
    const runsOf = new Map<number, RunView[]>()
    for (const run of job.runs) {
      const list = runsOf.get(run.task_index)
      if (list) list.push(run)
      else runsOf.set(run.task_index, [run])
    }
    cells = new Map()
    table.classList.toggle('compact', job.n_tasks > 1)
    rows = job.tasks.map((task) => {
      const runs = (runsOf.get(task.task_index) ?? []).sort((a, b) => a.run_number - b.run_number)
      const list = h('ol', { class: 'cells', 'aria-label': `Runs of ${task.name}` })
      for (const run of runs) {
        const a = h('a', { href: `/jobs/${jobId}/runs/${run.run_number}`, 'data-run': run.run_number })
        cells.set(run.run_number, { a, painted: '' })
        list.append(h('li', {}, a))
      }
      const row: Row = {
        task,
        valid: h('td', { class: 'num' }),
        passRate: h('td', { class: 'num pass-rate' }),
        reward: h('span', {}),
        rewardCi: h('span', { class: 'muted ci' }),
        passAtK: h('td', { class: 'num' }),
        tr: h('tr', { 'data-task': task.name, 'data-index': task.task_index }),
      }
      row.tr.append(
        h('td', { class: 'num muted' }, String(task.task_index + 1)),
        h('th', { scope: 'row', class: 'task-name' }, task.name),
        h('td', { class: 'muted' }, task.format),
        row.valid,
        row.passRate,
        h('td', { class: 'num' }, row.reward, ' ', row.rewardCi),
        row.passAtK,
        h('td', { class: 'runs' }, list),
      )
      return row
    })
    order = []
    body.replaceChildren()
  }

  const update = (job: JobDetail) => {
    const next = `${job.tasks.length}:${job.runs.length}`
    if (next !== shape) {
      shape = next
      build(job)
    }
    const names = job.tasks.map((t) => t.name)
    for (const run of job.runs) {
      const cell = cells.get(run.run_number)
      if (cell) paint(cell, run, names[run.task_index] ?? `task ${run.task_index + 1}`)
    }
    const k = largestK(job)
    setText(kHead, k === null ? 'pass@k' : `pass@${k}`)
    job.tasks.forEach((task, i) => {
      const row = rows[i]
      if (row) fillRow(row, task, k)
    })
    arrange()
  }

  const sortBy = (key: SortKey) => {
    if (sort.key === key) sort.direction = sort.direction === 'ascending' ? 'descending' : 'ascending'
    else {
      sort.key = key
      sort.direction = 'ascending'
    }
    arrange()
  }

  /** Puts the rows in the sort's order, moving only when it changed. */
  const arrange = () => {
    for (const [key, th] of sortButtons) {
      if (key === sort.key) th.setAttribute('aria-sort', sort.direction)
      else th.removeAttribute('aria-sort')
    }
    const sorted = [...rows].sort(compare(sort.key, sort.direction))
    if (sorted.length === order.length && sorted.every((row, i) => row === order[i])) return
    order = sorted
    body.append(...sorted.map((row) => row.tr))
  }

  return { el, update }
}

/** The largest k of the dataset's pass@k (every task with a valid run supports it), or null. */
function largestK(job: JobDetail): number | null {
  const ks = Object.keys(job.dataset?.pass_at_k ?? {}).map(Number)
  return ks.length ? Math.max(...ks) : null
}

function passRateOf(task: TaskView): number | null {
  const m = task.metrics
  return m.valid_n > 0 ? m.counts.passed / m.valid_n : null
}

function fillRow(row: Row, task: TaskView, k: number | null): void {
  row.task = task
  const m = task.metrics
  const rate = passRateOf(task)
  setText(row.valid, `${m.valid_n}/${m.n_runs}`)
  setText(row.passRate, rate === null ? '—' : `${percent(rate)} (${m.counts.passed}/${m.valid_n})`)
  setText(row.reward, m.mean_reward === null ? '—' : fixed(m.mean_reward))
  setText(row.rewardCi, m.mean_reward_ci95 ? interval(m.mean_reward_ci95) : '')
  const atK = k === null ? undefined : m.pass_at_k[String(k)]
  setText(row.passAtK, atK === undefined ? '—' : percent(atK))
  row.tr.dataset.passRate = rate === null ? '' : String(rate)
}

/** Sorts rows by `key`; tasks without a valid run come last whichever way, ties in task order. */
function compare(key: SortKey, direction: Direction) {
  const sign = direction === 'ascending' ? 1 : -1
  return (a: Row, b: Row): number => {
    const byIndex = a.task.task_index - b.task.task_index
    if (key === 'index') return sign * byIndex
    if (key === 'name') return sign * a.task.name.localeCompare(b.task.name) || byIndex
    const [ra, rb] = [passRateOf(a.task), passRateOf(b.task)]
    if (ra === null || rb === null) return ra === rb ? byIndex : ra === null ? 1 : -1
    return sign * (ra - rb) || byIndex
  }
}

/** Repaints a run's cell if what it shows has changed. */
function paint(cell: Cell, run: RunView, taskName: string): void {
  const state = runState(run)
  const painted = `${stateClass(run)}|${state}|${run.phase}|${run.retries}|${run.duration_sec}`
  if (painted === cell.painted) return
  cell.painted = painted
  const a = cell.a
  a.className = `run-tile ${stateClass(run)}`
  a.dataset.state = state
  a.dataset.retries = String(run.retries)
  const label =
    `Run ${run.run_number} of ${taskName}: ${state}` +
    (run.phase && run.status === 'running' ? ` · ${run.phase}` : '') +
    (run.duration_sec ? ` · ${seconds(run.duration_sec)}` : '') +
    (run.retries ? ` · retried ${run.retries}×` : '')
  a.title = label
  a.setAttribute('aria-label', label)
  a.replaceChildren(h('span', { class: 'run-number' }, String(run.run_number)))
  if (run.retries) a.append(h('span', { class: 'retries' }, `↻${run.retries}`))
}

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text
}
