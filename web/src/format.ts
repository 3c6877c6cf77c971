/** How values read on the page. */
export function ago(iso: string | null): string {
  if (!iso) return '—'
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000)
  if (s < 60) return `${Math.round(s)} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86400) return `${(s / 3600).toFixed(1)} h ago`
  return `${(s / 86400).toFixed(1)} d ago`
}

export function seconds(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  if (value < 60) return `${value.toFixed(1)} s`
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`
}

export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'unknown'
  return value < 0.01 && value > 0 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`
}

export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : value.toLocaleString('en')
}

/** The word for a run's state: its outcome once it has one, else its status. */
export function runState(run: { status: string; outcome: string | null; error_class?: string | null }): string {
  if (run.status === 'cancelled') return 'cancelled'
  if (run.outcome === 'error') return `error${run.error_class ? ` (${run.error_class})` : ''}`
  return run.outcome ?? run.status
}

/** The CSS class for a run's state (colours in app.css). */
export function stateClass(run: { status: string; outcome: string | null }): string {
  if (run.status === 'cancelled') return 's-cancelled'
  if (run.outcome) return `s-${run.outcome}`
  return `s-${run.status}`
}

/** A number with its sign, a real minus for negatives: `+0.12`, `−0.03`. */
export function signed(value: number, digits = 2): string {
  const text = Math.abs(value).toFixed(digits)
  if (Number(text) === 0) return (0).toFixed(digits)
  return `${value < 0 ? '−' : '+'}${text}`
}

/** A number to `digits` places, with a real minus: `0.12`, `−0.03`. */
export function fixed(value: number, digits = 3): string {
  const text = value.toFixed(digits)
  return text.startsWith('-') && Number(text) !== 0 ? `−${text.slice(1)}` : text.replace(/^-/, '')
}

/** An interval as `lo…hi` (a 95% CI from the API, as a pair). */
export function interval(pair: [number, number] | null | undefined, digits = 2): string {
  return pair ? `${fixed(pair[0], digits)}…${fixed(pair[1], digits)}` : '—'
}

/** A p-value as people read it: `p=0.11` (two significant digits), or `p<0.001`. */
export function pValue(p: number): string {
  return p < 0.001 ? 'p<0.001' : `p=${Number(p.toPrecision(2))}`
}
