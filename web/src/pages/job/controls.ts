/**
 * Job control on the job's page: pause or resume (whichever its status allows), cancel with
 * confirmation, and retry every run that ended in an error of one class (the classes it has errors
 * of). Each says what the API answered; a refusal (409, 422) in the API's own words.
 */
import { api, type ApiError } from '../../api.js'
import { fill, h } from '../../dom.js'
import { retryRuns } from '../../retry.js'
import { isEnded, type JobDetail, type JobStatus, type JobView } from '../../shapes.js'

export interface ControlHooks {
  /** The job as an action left it (its status at once, before the event stream says so). */
  changed(job: JobView): void
  /** Runs were retried: an ended job runs again, and its stream must be followed again. */
  retried(): void
}

export interface JobControls {
  /** Pause or resume, and cancel: for the page's head. */
  buttons: HTMLElement
  /** Retry errors of a class: below the head. */
  retry: HTMLElement
  /** What the last action came to. */
  message: HTMLElement
  update(job: JobDetail): void
}

export function jobControls(jobId: string, hooks: ControlHooks): JobControls {
  const message = h('p', { class: 'muted control-message', id: 'control-message', role: 'status' })
  const say = (text: string, error = false) => fill(message, error ? h('span', { class: 'form-error' }, text) : text)
  const act = (button: HTMLButtonElement, action: 'pause' | 'resume' | 'cancel', done: string) => {
    button.disabled = true
    api<JobView>(`/api/jobs/${jobId}/${action}`, { method: 'POST' }).then(
      (job) => {
        say(done)
        // A cancel takes a while: the button stays down, and goes with the job's end.
        if (action === 'cancel') return
        button.disabled = false
        showButtons(job.status)
        hooks.changed(job)
      },
      (err: ApiError) => {
        button.disabled = false
        if (action === 'cancel') button.textContent = 'Cancel job'
        say(err.message, true)
      },
    )
  }
  // Hidden until the job's status says which apply (showButtons).
  const pause = h('button', { type: 'button', id: 'pause-job', hidden: true }, 'Pause')
  pause.title = 'Start no more runs until resumed; running runs go on to their end.'
  pause.addEventListener('click', () => act(pause, 'pause', 'Paused: no new run starts until you resume.'))
  const resume = h('button', { type: 'button', id: 'resume-job', class: 'primary', hidden: true }, 'Resume')
  resume.addEventListener('click', () => act(resume, 'resume', 'Resumed.'))
  const cancel = h('button', { type: 'button', class: 'danger', id: 'cancel-job', hidden: true }, 'Cancel job')
  cancel.addEventListener('click', () => {
    if (!confirm('Cancel this job? Running runs are stopped; their logs are kept.')) return
    cancel.textContent = 'Cancelling…'
    act(cancel, 'cancel', 'Cancel requested.')
  })
  const buttons = h('span', { class: 'control-buttons' }, pause, resume, cancel)

  const errorClass = h('select', { id: 'retry-class', 'aria-label': 'Error class to retry' })
  const retryButton = h('button', { type: 'button', id: 'retry-errors' }, 'Retry errors')
  const retryOut = h('div', { class: 'retry-out', role: 'status' })
  const retry = h(
    'div',
    { class: 'retry-class', hidden: true },
    h('label', {}, 'Retry every run that ended in an error of class ', errorClass),
    retryButton,
    retryOut,
  )
  retryButton.addEventListener('click', () => {
    retryButton.disabled = true
    void retryRuns(jobId, { error_class: errorClass.value }, retryOut).then((answer) => {
      retryButton.disabled = false
      if (answer) hooks.retried()
    })
  })

  /** Pause while it may start runs, resume while paused, cancel until it has ended. */
  function showButtons(status: JobStatus) {
    const ended = isEnded(status)
    pause.hidden = ended || status === 'paused'
    resume.hidden = status !== 'paused'
    cancel.hidden = ended
  }
  let classes = ''
  const update = (job: JobDetail) => {
    showButtons(job.status)
    const errors = Object.entries(job.metrics.errors_by_class).filter(([, n]) => n > 0)
    const next = errors.map(([c, n]) => `${c}:${n}`).join(',')
    retry.hidden = errors.length === 0
    if (next === classes) return
    classes = next
    const chosen = errorClass.value
    errorClass.replaceChildren(
      ...errors.map(([c, n]) => h('option', { value: c }, `${c} (${n} run${n === 1 ? '' : 's'})`)),
    )
    if (errors.some(([c]) => c === chosen)) errorClass.value = chosen
  }
  return { buttons, retry, message, update }
}
