/** `f` of each item, made as it is asked for (nothing kept). */
export function* mapIterable<T, U>(items: Iterable<T>, f: (x: T) => U): Iterable<U> {
  for (const x of items) yield f(x);
}
