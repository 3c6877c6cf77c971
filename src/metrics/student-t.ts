/**
 * Student's t distribution, for the paired comparison of jobs (compare.ts). Pure, no dependency.
 *
 * The CDF goes through the regularised incomplete beta function I_x(a, b), evaluated by its continued
 * fraction with the modified Lentz method (the approach of Numerical Recipes' `betacf`), and the
 * quantile by bisection on the CDF. Accurate to about 1e-12 for the degrees of freedom we meet.
 */

/** P(T <= t) for T ~ Student's t with `df` > 0 degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  checkDf(df)
  if (Number.isNaN(t)) throw new RangeError('t must be a number')
  if (t === Infinity) return 1
  if (t === -Infinity) return 0
  const tail = 0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5)
  return t > 0 ? 1 - tail : tail
}

/** Two-sided p-value of a t statistic: P(|T| >= |t|), computed without the cancellation of 1 - CDF. */
export function studentTTwoSidedP(t: number, df: number): number {
  checkDf(df)
  if (Number.isNaN(t)) throw new RangeError('t must be a number')
  if (!Number.isFinite(t)) return 0
  return regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5)
}

/** The p-quantile of Student's t with `df` degrees of freedom, 0 < p < 1. */
export function studentTQuantile(p: number, df: number): number {
  checkDf(df)
  if (!(p > 0 && p < 1)) throw new RangeError(`p must lie strictly between 0 and 1 (p=${p})`)
  if (p === 0.5) return 0
  if (p < 0.5) return -studentTQuantile(1 - p, df)
  let hi = 1
  while (studentTCdf(hi, df) < p) hi *= 2
  let lo = 0
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2
    if (studentTCdf(mid, df) < p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** I_x(a, b), the regularised incomplete beta function, for 0 <= x <= 1 and a, b > 0. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(x >= 0 && x <= 1) || !(a > 0) || !(b > 0)) {
    throw new RangeError(`incomplete beta needs 0 <= x <= 1 and a, b > 0 (x=${x}, a=${a}, b=${b})`)
  }
  if (x === 0 || x === 1) return x
  // x^a (1-x)^b / (a B(a, b)), in logs to stay finite for large a and b
  const front = Math.exp(a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b))
  // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry beyond it.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b
}

const EPSILON = 1e-15
const TINY = 1e-300
const MAX_TERMS = 1000

/** The continued fraction of I_x(a, b), by the modified Lentz method. */
function betaContinuedFraction(x: number, a: number, b: number): number {
  let c = 1
  let d = nonZero(1 - ((a + b) * x) / (a + 1))
  d = 1 / d
  let h = d
  for (let m = 1; m <= MAX_TERMS; m++) {
    const m2 = 2 * m
    // even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m))
    const even = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 / nonZero(1 + even * d)
    c = nonZero(1 + even / c)
    h *= d * c
    // odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
    const odd = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 / nonZero(1 + odd * d)
    c = nonZero(1 + odd / c)
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < EPSILON) return h
  }
  throw new Error(`incomplete beta did not converge (x=${x}, a=${a}, b=${b})`)
}

function nonZero(v: number): number {
  return Math.abs(v) < TINY ? TINY : v
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b)
}

// Lanczos approximation (g = 7, 9 coefficients), relative error below 1e-15 for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
]

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0 (x=${x})`)
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const z = x - 1
  let sum = LANCZOS[0]!
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i)
  const t = z + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum)
}

function checkDf(df: number): void {
  if (!(df > 0) || !Number.isFinite(df)) throw new RangeError(`degrees of freedom must be positive (df=${df})`)
}
