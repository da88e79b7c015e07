/**
 * The building blocks of the JSON Schemas (json-schema.ts, stats-schema.ts): the part
 * of JSON Schema 2020-12 they use, and one constructor per kind of field, so every
 * field of every contract is written the same way (and says what it means).
 */

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';
type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/** The part of JSON Schema 2020-12 the contract uses. */
export interface JsonSchema {
  readonly $schema?: string;
  readonly $id?: string;
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, JsonSchema>>;
  readonly title?: string;
  readonly description?: string;
  readonly examples?: readonly JsonValue[];
  readonly type?: JsonType | readonly JsonType[];
  readonly const?: string | number | boolean | null;
  readonly enum?: readonly (string | number | null)[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  /** Fields: each a Field (with a description), built by object(); an if/then condition's need none. */
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly propertyNames?: JsonSchema;
  readonly items?: JsonSchema | false;
  readonly prefixItems?: readonly JsonSchema[];
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly allOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly if?: JsonSchema;
  readonly then?: JsonSchema;
}

/** A property: every one says what it means. */
export type Field = JsonSchema & { readonly description: string };

/** A schema for each property of T (optional ones too): the compiler checks the names against the source's type. */
export type Fields<T> = { readonly [P in keyof T]-?: Field };

/** `values`, checked by the compiler to be every member of the union T. */
export function everyOf<T extends string | number>() {
  return <const A extends readonly T[]>(values: A & ([T] extends [A[number]] ? unknown : { missing: Exclude<T, A[number]> })): A => values;
}


export const ref = (name: string, description: string): Field => ({ $ref: `#/$defs/${name}`, description });
export const orNull = (name: string, description: string): Field => ({ anyOf: [{ $ref: `#/$defs/${name}` }, { type: 'null' }], description });
export const int = (description: string, minimum = 0): Field => ({ type: 'integer', minimum, description });
export const intOrNull = (description: string, minimum = 0): Field => ({ type: ['integer', 'null'], minimum, description });
export const num = (description: string, minimum?: number): Field => (minimum === undefined ? { type: 'number', description } : { type: 'number', minimum, description });
export const numOrNull = (description: string): Field => ({ type: ['number', 'null'], minimum: 0, description });
export const str = (description: string, examples?: readonly string[]): Field => (examples ? { type: 'string', description, examples } : { type: 'string', description });
export const bool = (description: string): Field => ({ type: 'boolean', description });
export const oneOfValues = (type: 'string' | 'integer', values: readonly (string | number)[], description: string): Field => ({ type, enum: values, description });
export const list = (items: JsonSchema, description: string): Field => ({ type: 'array', description, items });
/** A frame number: 1-based, per capture file, as Wireshark numbers them. */
export const frame = (description: string): Field => int(description, 1);

/** A closed object: every property required but the `optional` ones, none beyond them. */
export function object(description: string, properties: Readonly<Record<string, Field>>, optional: readonly string[] = [], nullable = false): Field {
  return {
    type: nullable ? ['object', 'null'] : 'object',
    description,
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    additionalProperties: false,
  };
}

/** An object used as a map: any keys (`keys` says which), each a count. */
export function counts(description: string, keys: JsonSchema): Field {
  return { type: 'object', description, propertyNames: keys, additionalProperties: { type: 'integer', minimum: 1 } };
}
