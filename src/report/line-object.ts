import { object, type Field } from './schema-build.js';

/** A value as the writer joins it: JSON text, or a number or boolean (a computed number goes through jsonNumber first). */
type JsonPart = string | number | boolean;

/**
 * One field of an object the JSON writer streams: what the schema says of it, and how
 * its value is read from the object's sources (a connection, one of its endpoints, the
 * end of the capture...): `json`, its JSON text (or a number or boolean), or `text`, a
 * string made only of characters JSON never escapes (an address, a state name),
 * written in quotes as it is.
 */
export type LineField<A, B, C> =
  | { readonly schema: Field; readonly json: (a: A, b: B, c: C) => JsonPart }
  | { readonly schema: Field; readonly text: (a: A, b: B, c: C) => string };

/**
 * An object of the JSON contract defined once, as a list of fields: its schema (a
 * closed object, every field required) and its writer both come from the list, so a
 * field cannot be written and not documented, or the other way round.
 *
 * The writer is compiled once from the list (as util/bit-flags.ts compiles accessors):
 * one expression joining the constant key texts and the fields' values, the shape of
 * a hand-written template literal, so no object is made per field and each reader is
 * called from a call site of its own, where it can be inlined.
 */
export class LineObject<A, B = void, C = void> {
  readonly schema: Field;
  /** The object as JSON text, as JSON.stringify would write it. */
  readonly write: (a: A, b: B, c: C) => string;

  constructor(description: string, fields: Readonly<Record<string, LineField<A, B, C>>>, nullable = false) {
    const names = Object.keys(fields);
    const readers: ((a: A, b: B, c: C) => JsonPart)[] = [];
    let code = '';
    let constant = '{';
    for (const name of names) {
      const f = fields[name]!;
      const quoted = 'text' in f;
      constant += `${readers.length ? ',' : ''}${JSON.stringify(name)}:${quoted ? '"' : ''}`;
      code += `${JSON.stringify(constant)} + r${readers.length}(a, b, c) + `;
      constant = quoted ? '"' : '';
      readers.push(quoted ? f.text : f.json);
    }
    code += JSON.stringify(`${constant}}`);
    const params = readers.map((_, i) => `r${i}`);
    this.write = new Function(...params, `return (a, b, c) => ${code};`)(...readers) as (a: A, b: B, c: C) => string;
    this.schema = object(description, Object.fromEntries(names.map((name) => [name, fields[name]!.schema])), [], nullable);
  }
}

/** A computed number as JSON writes it (no NaN or Infinity in JSON: null). Counters and ids are integers, written as they are. */
export function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** A string as JSON writes it (escaped); the few distinct texts (a transition's "why", a clue) are escaped once each. */
export function jsonString(s: string): string {
  let j = escaped.get(s);
  if (j === undefined) {
    j = JSON.stringify(s);
    if (escaped.size > 4096) escaped.clear();
    escaped.set(s, j);
  }
  return j;
}

const escaped = new Map<string, string>();
