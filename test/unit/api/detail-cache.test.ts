import { describe, expect, it } from 'vitest'
import { detailEtag, ifNoneMatchHits, JobDetailCache } from '../../../src/api/detail-cache.js'

describe('JobDetailCache', () => {
  it('answers only for the version a body was kept under', () => {
    const cache = new JobDetailCache(100)
    cache.set('a', 'v1', 'body-1')
    expect(cache.get('a', 'v1')).toBe('body-1')
    expect(cache.get('a', 'v2')).toBeUndefined()
    cache.set('a', 'v2', 'body-2')
    expect(cache.get('a', 'v1')).toBeUndefined()
    expect(cache.get('a', 'v2')).toBe('body-2')
    expect(cache.size).toBe(1)
  })

  it('keeps within its size, dropping the least recently used first', () => {
    const cache = new JobDetailCache(30)
    cache.set('a', 'v', 'x'.repeat(10))
    cache.set('b', 'v', 'y'.repeat(10))
    cache.set('c', 'v', 'z'.repeat(10))
    expect(cache.get('a', 'v')).toBeDefined() // a is now the most recently used
    cache.set('d', 'v', 'w'.repeat(10))
    expect(cache.get('b', 'v')).toBeUndefined()
    expect(['a', 'c', 'd'].map((id) => cache.get(id, 'v')?.length)).toEqual([10, 10, 10])
    // Replacing a body counts only the new one.
    cache.set('a', 'v2', 'x'.repeat(10))
    expect(cache.size).toBe(3)
    // A body bigger than the whole cache is not kept, and drops the job's old one.
    cache.set('c', 'v2', 'q'.repeat(31))
    expect(cache.get('c', 'v2')).toBeUndefined()
    expect(cache.size).toBe(2)
  })
})

describe('ifNoneMatchHits', () => {
  const etag = detailEtag('abc')
  it.each([
    [etag, true],
    [`W/${etag}`, true],
    [`"x", ${etag}`, true],
    ['*', true],
    ['"abc"', false],
    ['', false],
    [undefined, false],
  ])('%s → %s', (header, hit) => {
    expect(ifNoneMatchHits(header, etag)).toBe(hit)
  })
})
