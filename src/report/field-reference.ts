import type { JsonSchema, JsonType } from './schema-build.js';

/**
 * The field reference in Markdown (docs/json.md, docs/live-stats.md), rendered from a
 * JSON Schema: one table per object in document order, then the value types.
 */

const DEF_PREFIX = '#/$defs/';

function resolve(root: JsonSchema, s: JsonSchema): JsonSchema {
  if (s.$ref === undefined) return s;
  if (!s.$ref.startsWith(DEF_PREFIX)) throw new Error(`only local $defs references are rendered: ${s.$ref}`);
  const target = root.$defs?.[s.$ref.slice(DEF_PREFIX.length)];
  if (target === undefined) throw new Error(`no such definition: ${s.$ref}`);
  return target;
}

function types(s: JsonSchema): readonly JsonType[] {
  return s.type === undefined ? [] : typeof s.type === 'string' ? [s.type] : s.type;
}

/** An object with fields of its own (a table), not a map or an open object. */
function isRecord(s: JsonSchema): boolean {
  return types(s).includes('object') && s.properties !== undefined && Object.keys(s.properties).length > 0;
}

/** `details`-style fields: the object's allOf if/then entries keyed by another field's const. */
interface Variant {
  key: string;
  value: string;
  schema: JsonSchema;
}

function variantsOf(root: JsonSchema, s: JsonSchema, field: string): Variant[] {
  const out: Variant[] = [];
  for (const branch of s.allOf ?? []) {
    const cond = Object.entries(branch.if?.properties ?? {});
    const then = branch.then?.properties?.[field];
    if (cond.length === 1 && then !== undefined && typeof cond[0]![1].const === 'string') out.push({ key: cond[0]![0], value: cond[0]![1].const, schema: resolve(root, then) });
  }
  return out;
}

function anchor(path: string): string {
  return (
    path
      .replace(/\[\]/g, '')
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .toLowerCase() || 'document'
  );
}

function code(s: string): string {
  return `\`${s}\``;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** "docs/findings.md#half-open" in a description, as a link from a page in docs/. */
function linked(text: string): string {
  return text.replace(/\bdocs\/([a-z-]+\.md)(#[a-z0-9-]+)?/g, (all, file: string, frag: string | undefined) => `[${all}](${file}${frag ?? ''})`);
}

function literal(v: string | number | boolean | null): string {
  return code(JSON.stringify(v));
}

function joinOr(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
}

/** The reference's pass over the schema: which table each object is in (an object used in several places is one table). */
class Reference {
  /** Object schemas -> the paths they appear at, in document order. */
  private readonly paths = new Map<JsonSchema, string[]>();
  private readonly rendered = new Set<JsonSchema>();
  private readonly out: string[] = [];

  constructor(private readonly root: JsonSchema) {}

  render(): string {
    this.collect(this.root, '');
    this.table(this.root, '', 'The document');
    const defs = Object.entries(this.root.$defs ?? {}).filter(([, s]) => !types(s).includes('object'));
    if (defs.length) {
      this.out.push('<a id="value-types"></a>', '### Value types', '', 'Types used by several fields.', '', '| Type | Values | Meaning |', '|---|---|---|');
      for (const [name, s] of defs) this.out.push(`| <a id="type-${name}"></a>${code(name)} | ${cell(this.valuesOf(s))} | ${cell(this.meaning(s))} |`);
      this.out.push('');
    }
    return this.out.join('\n');
  }

  private collect(s0: JsonSchema, path: string): void {
    const s = resolve(this.root, s0);
    if (isRecord(s)) {
      const seen = this.paths.get(s);
      if (seen) {
        seen.push(path);
        return;
      }
      this.paths.set(s, [path]);
      for (const [name, f] of Object.entries(s.properties ?? {})) {
        const child = path ? `${path}.${name}` : name;
        const variants = variantsOf(this.root, s, name);
        if (variants.length) for (const v of variants) this.collect(v.schema, `${child}<${v.value}>`);
        else this.collect(f, child);
      }
    } else if (s.items) this.collect(s.items, `${path}[]`);
    else for (const alt of s.anyOf ?? []) this.collect(alt, path);
  }

  private title(path: string): string {
    return path.replace(/<[^>]*>/g, '');
  }

  private link(s: JsonSchema): string {
    const path = this.paths.get(s)![0]!;
    return `[${code(this.title(path))}](#${anchor(path)})`;
  }

  /** The type column. */
  private typeOf(s0: JsonSchema): string {
    if (s0.$ref !== undefined) {
      const s = resolve(this.root, s0);
      if (isRecord(s)) return `object, ${this.link(s)}`;
      return `[${s0.$ref.slice(DEF_PREFIX.length)}](#type-${s0.$ref.slice(DEF_PREFIX.length)})`;
    }
    const s = s0;
    if (s.const !== undefined) return `${literal(s.const)} (constant)`;
    if (s.enum !== undefined) return joinOr(s.enum.map(literal));
    if (s.anyOf !== undefined) {
      const alts = s.anyOf.filter((a) => !(a.type === 'null'));
      const text = alts.map((a) => (a.type === 'string' && a.pattern !== undefined ? 'string' : this.typeOf(a)));
      return joinOr(s.anyOf.length > alts.length ? [...text, 'null'] : text);
    }
    const t = types(s);
    const nullable = t.includes('null');
    const base = t.filter((x) => x !== 'null');
    let text: string;
    if (base.length === 1 && base[0] === 'object') {
      if (isRecord(s)) text = `object, ${this.link(s)}`;
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') text = `object: ${this.keyOf(s.propertyNames)} → ${this.typeOf(s.additionalProperties)}`;
      else text = 'object';
    } else if (base.length === 1 && base[0] === 'array') {
      if (s.prefixItems) text = `array [${s.prefixItems.map((p) => this.typeOf(p)).join(', ')}]`;
      else text = `array of ${s.items ? this.typeOf(s.items) : 'anything'}`;
    } else {
      text = base.join(' or ');
      if (s.minimum !== undefined) text += ` ≥ ${s.minimum}`;
    }
    return nullable ? `${text} or null` : text;
  }

  /** A map's keys. */
  private keyOf(s: JsonSchema | undefined): string {
    if (s === undefined) return 'string';
    if (s.$ref !== undefined) return this.typeOf(s);
    return s.pattern !== undefined ? `string matching ${code(s.pattern)}` : 'string';
  }

  /** The meaning column: the description (its docs/*.md citations as links: the reference is in docs/), and the examples. */
  private meaning(s: JsonSchema): string {
    const ex = s.examples?.length ? ` Example${s.examples.length > 1 ? 's' : ''}: ${s.examples.map((e) => code(JSON.stringify(e))).join(', ')}.` : '';
    return `${linked(s.description ?? '')}${ex}`;
  }

  private valuesOf(s: JsonSchema): string {
    if (s.enum !== undefined) return s.enum.map(literal).join(', ');
    if (s.pattern !== undefined) return `${types(s).join(' or ')} matching ${code(s.pattern)}`;
    return types(s).join(' or ');
  }

  /** One object's table, then its nested objects' tables, in document order. */
  private table(s0: JsonSchema, path: string, heading?: string, variant?: Variant): void {
    const s = resolve(this.root, s0);
    if (isRecord(s) || variant) {
      if (this.rendered.has(s)) return;
      this.rendered.add(s);
      const all = this.paths.get(s) ?? [path];
      const name = heading ?? all.map((p) => code(this.title(p))).join(', ');
      this.out.push(`<a id="${anchor(all[0]!)}"></a>`, `### ${name}${variant ? ` when ${code(variant.key)} is ${code(variant.value)}` : ''}`, '', linked(s.description ?? ''), '');
      const fields = Object.entries(s.properties ?? {});
      if (fields.length === 0) this.out.push('No fields: an empty object.', '');
      else {
        this.out.push('| Field | Type | Meaning |', '|---|---|---|');
        for (const [name, f] of fields) {
          const variants = variantsOf(this.root, s, name);
          const type = variants.length ? `object, by ${code(variants[0]!.key)}: ${variants.map((v) => `[${code(v.value)}](#${anchor(`${path ? `${path}.` : ''}${name}<${v.value}>`)})`).join(', ')}` : this.typeOf(f);
          this.out.push(`| ${code(name)} | ${cell(type)} | ${cell(this.meaning(f))} |`);
        }
        this.out.push('');
      }
      for (const [name, f] of fields) {
        const child = path ? `${path}.${name}` : name;
        const variants = variantsOf(this.root, s, name);
        if (variants.length) for (const v of variants) this.table(v.schema, `${child}<${v.value}>`, code(this.title(child)), v);
        else this.table(f, child);
      }
    } else if (s.items) this.table(s.items, `${path}[]`);
    else for (const alt of s.anyOf ?? []) this.table(alt, path);
  }
}

/** The field reference in Markdown: one table per object (field, type, meaning) in document order, then the value types. */
export function renderFieldReference(schema: JsonSchema): string {
  return new Reference(schema).render();
}
