/** What a harness's stderr says when it failed without a result: for the attempt's error message. Pure. */

/**
 * The useful end of a stderr dump. For a Python traceback (plain, or an exception group's with its
 * `|` margins), the last frame and the exception it raised; otherwise the last few lines.
 */
export function usefulTail(stderr: string, maxLines = 6, maxChars = 1500): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) =>
      l
        .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
        .replace(/^\s*\|\s?/, '')
        .trimEnd(),
    )
    .filter((l) => l.trim() !== '' && !/^[\s│╭╰─╮╯+|-]+$/.test(l) && !/^\s*\^+\s*$/.test(l) && !/^\s*\+-/.test(l))
  const lastFrame = lines.findLastIndex((l) => /^\s*File "/.test(l))
  const relevant = lastFrame >= 0 ? lines.slice(lastFrame) : lines
  const text = relevant.slice(-maxLines).join('\n')
  return text.length > maxChars ? text.slice(text.length - maxChars) : text
}
