/**
 * One run, live: its log tail (follows new lines; pauses when the user scrolls up; reconnects by
 * itself from the last line it has, so nothing is lost or shown twice), the phase timeline, the
 * agent's trajectory steps as they arrive, the verifier's output and test results, the attempts with
 * their errors and hosts, and the artifacts download. An ended run can be retried: a new attempt of
 * the same run, its earlier ones kept.
 */
import { api, download, follow, type TicketTarget } from '../api.js'
import { fill, h } from '../dom.js'
import { ago, count, runState, seconds, stateClass, usd } from '../format.js'
import { retryRuns } from '../retry.js'

const MAX_LINES_SHOWN = 5000
const PHASES = ['environment_setup', 'agent_setup', 'agent_execution', 'verifier'] as const
/** The run's live phase (runs.phase) → its place in the timeline. */
const PHASE_OF_LIVE: Record<string, (typeof PHASES)[number]> = {
  environment_setup: 'environment_setup',
  agent_setup: 'agent_setup',
  agent: 'agent_execution',
  verifier: 'verifier',
}

export function runPage(root: HTMLElement, params: Record<string, string>): () => void {
  const { job_id: jobId, run_number: runNumber } = params as { job_id: string; run_number: string }
  const base = `/api/jobs/${jobId}/runs/${runNumber}`
  const head = h('div', { class: 'page-head' }, h('h1', {}, `Run ${runNumber}`))
  const retryOut = h('div', { class: 'retry-out', id: 'retry-message', role: 'status' })
  const retry = h('button', { type: 'button', id: 'retry-run', hidden: true }, 'Retry run')
  retry.addEventListener('click', () => {
    retry.disabled = true
    void retryRuns(jobId, { run_numbers: [Number(runNumber)] }, retryOut).then((answer) => {
      retry.disabled = false
      // The run starts again: the page follows its new attempt from the start.
      if (answer) window.dispatchEvent(new PopStateEvent('popstate'))
    })
  })
  const summary = h('dl', { class: 'facts' })
  const timeline = h('ol', { class: 'timeline', 'aria-label': 'Phases' })
  const log = h('div', {
    class: 'log',
    id: 'log',
    role: 'log',
    'aria-live': 'off',
    tabindex: 0,
    'aria-label': 'Run log',
  })
  const paused = h(
    'button',
    { type: 'button', class: 'paused', hidden: true, id: 'log-resume' },
    'Paused: new lines below. Follow again ↓',
  )
  const logState = h('span', { class: 'muted', id: 'log-state', role: 'status' }, 'connecting…')
  const steps = h('ol', { class: 'steps', id: 'trajectory' })
  const noSteps = h('p', { class: 'muted' }, 'No trajectory steps yet (some agents, such as oracle, write none).')
  const verifier = h('pre', { class: 'verifier', id: 'verifier-output' })
  const tests = h('div', { id: 'tests' })
  const attempts = h('tbody', {})
  const run = { job_id: jobId, run_number: Number(runNumber) }
  const artifacts = downloadLink(
    { purpose: 'run_artifacts', ...run },
    `${base}/artifacts`,
    `run-${runNumber}-artifacts.zip`,
    'button',
    'Download artifacts (zip)',
  )

  fill(
    root,
    h('p', {}, h('a', { href: `/jobs/${jobId}` }, '← Job')),
    head,
    retryOut,
    summary,
    h('section', {}, h('h2', {}, 'Phases'), timeline),
    h(
      'section',
      {},
      h(
        'div',
        { class: 'section-head' },
        h('h2', {}, 'Log'),
        logState,
        downloadLink(
          { purpose: 'run_log', ...run },
          `${base}/logs`,
          `run-${runNumber}.log`,
          'button ghost',
          'Whole log',
        ),
      ),
      h('div', { class: 'log-wrap' }, log, paused),
    ),
    h(
      'div',
      { class: 'row' },
      h('section', { class: 'grow' }, h('h2', {}, 'Trajectory'), noSteps, steps),
      h('section', { class: 'grow' }, h('h2', {}, 'Verifier'), tests, verifier),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Attempts'),
      h(
        'table',
        { class: 'attempts' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['#', 'Host', 'Outcome', 'Error', 'Started', 'Harness time'].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        attempts,
      ),
    ),
    h('p', {}, artifacts),
  )

  // Follow the log while the user is at its bottom; when they scroll up, stop and offer to resume.
  // Our own scrolling (to the newest line) must not read as the user leaving the bottom, even when
  // more lines arrive before the scroll event does: only a move up from where we put it pauses.
  let following = true
  let autoTop = 0
  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 24
  const toBottom = () => {
    log.scrollTop = log.scrollHeight
    autoTop = log.scrollTop
  }
  log.addEventListener('scroll', () => {
    if (atBottom()) {
      following = true
      paused.hidden = true
    } else if (log.scrollTop < autoTop - 4) {
      following = false
    }
  })
  paused.addEventListener('click', () => {
    following = true
    paused.hidden = true
    toBottom()
  })
  const addLine = (seq: number | null, stream: string, text: string) => {
    log.append(
      h('div', { class: `line l-${stream}`, 'data-seq': seq ?? '' }, h('span', { class: 'stream' }, stream), text),
    )
    while (log.childElementCount > MAX_LINES_SHOWN) log.firstElementChild!.remove()
    if (following) toBottom()
    else paused.hidden = false
  }

  let refreshTimer: number | undefined
  const refresh = () => {
    window.clearTimeout(refreshTimer)
    refreshTimer = window.setTimeout(() => void load(), 300)
  }
  const load = async () => {
    const run = await api<any>(base).catch(() => null)
    if (!run) return
    renderRun(head, summary, timeline, attempts, tests, run, runNumber)
    retry.hidden = !['completed', 'cancelled'].includes(run.status)
    head.append(h('span', { class: 'spacer' }), retry)
  }
  void load()

  const stream = follow(
    { purpose: 'run_log_stream', ...run },
    {
      log: (d, id) => {
        addLine(id, d.stream, d.line)
        if (d.stream === 'verifier') verifier.textContent += `${d.line}\n`
      },
      status: (d, id) => {
        addLine(id, 'status', d.message)
        refresh()
      },
      phase: (d, id) => {
        addLine(id, 'phase', d.phase ?? d.event ?? '')
        refresh()
      },
      trajectory: (d) => {
        noSteps.remove()
        steps.append(stepItem(d.step))
      },
      end: () => void load(),
    },
    (state) => (logState.textContent = state === 'live' ? 'live' : state === 'ended' ? 'run over' : 'reconnecting…'),
  )
  return () => {
    stream.close()
    window.clearTimeout(refreshTimer)
  }
}

/**
 * A download link that fetches through a ticket when clicked (its own href, the plain path, serves
 * only in open mode: opened as it is, it would need the token).
 */
function downloadLink(target: TicketTarget, path: string, filename: string, cls: string, text: string): HTMLElement {
  const a = h('a', { href: path, class: cls, download: filename }, text)
  a.addEventListener('click', (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return
    e.preventDefault()
    // A refusal to give the ticket (a 401) asks for a token; nothing else to show here.
    download(target, filename).catch(() => {})
  })
  return a
}

function renderRun(
  head: HTMLElement,
  summary: HTMLElement,
  timeline: HTMLElement,
  attempts: HTMLElement,
  tests: HTMLElement,
  run: any,
  runNumber: string,
) {
  document.title = `Run ${runNumber} · Harbor Runner`
  fill(
    head,
    h('h1', {}, `Run ${runNumber} `, h('span', { class: `badge ${stateClass(run)}`, id: 'run-state' }, runState(run))),
    run.phase && run.status === 'running' ? h('span', { class: 'badge', id: 'run-phase' }, run.phase) : null,
  )
  const dd = (term: string, value: string) => [h('dt', {}, term), h('dd', {}, value)]
  fill(
    summary,
    dd('Reward', run.reward === null ? '—' : String(run.reward)),
    run.rewards && Object.keys(run.rewards).length > 1 ? dd('Rewards', JSON.stringify(run.rewards)) : null,
    dd('Host', run.host ?? '—'),
    dd('Attempts', String(run.attempts)),
    run.retries ? dd('Retries', String(run.retries)) : null,
    dd('Duration', seconds(run.duration_sec)),
    dd(
      'Tokens',
      run.tokens.input === null
        ? 'not reported'
        : `${count(run.tokens.input)} in · ${count(run.tokens.cache)} cached · ${count(run.tokens.output)} out`,
    ),
    dd('Cost', usd(run.cost_usd)),
    run.error_message ? dd('Error', run.error_message) : null,
    run.log_cut ? dd('Log', 'cut at the log limit') : null,
  )
  const timings = run.phase_timings ?? {}
  // While the run goes on, its live phase says where it is (timings are recorded as phases end).
  const live = run.status === 'running' ? PHASE_OF_LIVE[run.phase as string] : undefined
  const liveIndex = live ? PHASES.indexOf(live) : -1
  fill(
    timeline,
    PHASES.map((p, i) => {
      const span = timings[p]
      const state =
        span?.finished_at || (liveIndex >= 0 && i < liveIndex)
          ? 'done'
          : span?.started_at || i === liveIndex
            ? 'current'
            : 'pending'
      return h(
        'li',
        { class: `phase ${state}`, 'data-phase': p, 'aria-current': state === 'current' ? 'step' : null },
        h('span', { class: 'phase-name' }, p.replace('_', ' ')),
        h(
          'span',
          { class: 'muted' },
          span?.duration_sec != null ? seconds(span.duration_sec) : state === 'current' ? 'now' : '',
        ),
      )
    }),
  )
  fill(
    attempts,
    (run.attempt_history ?? []).map((a: any) =>
      h(
        'tr',
        {},
        h('td', {}, String(a.attempt)),
        h('td', {}, a.host ?? '—'),
        h('td', {}, a.outcome ?? '—'),
        h('td', {}, a.error_class ? `${a.error_class}: ${a.error_message ?? ''}` : ''),
        h('td', { title: a.started_at ?? '' }, ago(a.started_at)),
        h(
          'td',
          {},
          a.harness_started_at && a.harness_finished_at
            ? seconds((Date.parse(a.harness_finished_at) - Date.parse(a.harness_started_at)) / 1000)
            : '—',
        ),
      ),
    ),
  )
  const t = run.tests
  fill(
    tests,
    t
      ? h(
          'p',
          { id: 'test-counts' },
          `Tests: ${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''} of ${t.total}`,
        )
      : null,
  )
}

function stepItem(step: any): HTMLElement {
  const text = typeof step?.message === 'string' ? step.message : JSON.stringify(step?.message ?? step ?? '')
  const calls = Array.isArray(step?.tool_calls) ? step.tool_calls : []
  return h(
    'li',
    { class: 'step' },
    h('div', { class: 'step-head' }, `#${step?.step_id ?? '?'} `, h('span', { class: 'muted' }, step?.source ?? '')),
    h('p', {}, text.length > 600 ? `${text.slice(0, 600)}…` : text),
    calls.length ? h('pre', {}, calls.map((c: any) => JSON.stringify(c.arguments ?? c)).join('\n')) : null,
  )
}
