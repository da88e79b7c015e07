/** The boolean properties a flag list gives a class (merged into it as an interface of the same name). */
export type BitFlagFields<L extends readonly string[]> = { [K in L[number]]: boolean };

/**
 * Boolean properties kept as bits of one small-integer field, behind accessors of
 * the same names (declared on the class with `declare`). A boolean field is a
 * pointer, 8 bytes; objects kept per live connection have several, tens of
 * thousands of times over.
 *
 * `names[i]` is bit i of `field` (at most 30 names, so the field stays a small integer).
 * A property starts false unless the constructor sets it.
 */
export function defineBitFlags<T extends object>(proto: T, field: keyof T & string, names: readonly (keyof T & string)[]): void {
  if (names.length > 30) throw new RangeError('defineBitFlags: at most 30 flags per field');
  assertPlainName('defineBitFlags', field);
  names.forEach((name, i) => {
    const bit = 1 << i;
    // Each accessor is compiled on its own, with the field and the bit in its text: one
    // closure shared by every class would make each access a megamorphic keyed lookup
    // (docs/performance.md, "Figures behind the code").
    const get = new Function(`return (this.${field} & ${bit}) !== 0;`) as () => boolean;
    const set = new Function('on', `this.${field} = on ? this.${field} | ${bit} : this.${field} & ${~bit};`) as (on: boolean) => void;
    Object.defineProperty(proto, name, { get, set });
  });
}

/** Names put into compiled accessor text must be plain identifiers. */
export function assertPlainName(who: string, name: string): void {
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new RangeError(`${who}: ${name} is not a plain field name`);
}
