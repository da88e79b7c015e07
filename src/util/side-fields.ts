import { assertPlainName } from './bit-flags.js';

/**
 * Fields most objects of a class never set, kept in a side object made on the first
 * write of anything but a field's initial value, behind accessors of the same names
 * (declared on the class with `declare`). Every field of the main object is 8 bytes
 * on each of tens of thousands of live connections, used or not.
 *
 * The side object's class lists the fields and their initial values: numbers,
 * booleans or null (a read without a side object gives the initial value).
 */
export function defineSideFields(proto: object, field: string, make: () => object): void {
  assertPlainName('defineSideFields', field);
  for (const [name, initial] of Object.entries(make())) {
    assertPlainName('defineSideFields', name);
    if (!(initial === null || typeof initial === 'number' || typeof initial === 'boolean')) throw new RangeError(`defineSideFields: ${name} must start as a number, a boolean or null`);
    const d = String(initial);
    // Compiled per field, as defineBitFlags does: one shared closure would make every access a keyed lookup.
    const get = new Function(`const s = this.${field}; return s === null ? ${d} : s.${name};`) as () => unknown;
    const set = new Function('make', `return function (v) { const s = this.${field}; if (s !== null) s.${name} = v; else if (v !== ${d}) (this.${field} = make()).${name} = v; };`)(make) as (v: unknown) => void;
    Object.defineProperty(proto, name, { get, set });
  }
}
