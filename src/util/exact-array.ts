/**
 * A copy of `a` with `extra` more slots at the end, for the caller to fill. For
 * small arrays kept per connection: a pushed array reserves spare slots (17 for
 * the first push), and concat is slower than this loop.
 */
export function grownCopy<T>(a: readonly T[], extra: number): T[] {
  const n = a.length;
  const next = new Array<T>(n + extra);
  for (let i = 0; i < n; i++) next[i] = a[i]!;
  return next;
}
