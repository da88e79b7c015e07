/**
 * Boolean properties kept as bits of one small-integer field, behind accessors of
 * the same names (declared on the class with `declare`). A boolean field is a
 * pointer, 8 bytes; objects kept per live connection have several, tens of
 * thousands of times over.
 *
 * `names[i]` is bit i of `field` (at most 30 names, so the field stays a small integer).
 * A property starts false unless the constructor sets it.
 */
export function defineBitFlags(proto: object, field: string, names: readonly string[]): void {
  if (names.length > 30) throw new RangeError('defineBitFlags: at most 30 flags per field');
  names.forEach((name, i) => {
    const bit = 1 << i;
    Object.defineProperty(proto, name, {
      get(this: Record<string, number>): boolean {
        return (this[field]! & bit) !== 0;
      },
      set(this: Record<string, number>, on: boolean): void {
        this[field] = on ? this[field]! | bit : this[field]! & ~bit;
      },
    });
  });
}
