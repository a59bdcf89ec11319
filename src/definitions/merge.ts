// Deep merge of located documents: `_defaults` under a job, `environments.<env>` over it.
// Objects merge key by key; arrays and scalars replace. Locations follow the values.

import type { ParsedDocument } from '../files/parse.ts';
import { emptyLocations, pointer, type Location } from '../files/locations.ts';

type Plain = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Plain {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `over` merged onto `under`; neither is modified. */
export function mergeDocuments(under: ParsedDocument, over: ParsedDocument): ParsedDocument {
  const locations = { values: new Map(under.locations.values), keys: new Map(under.locations.keys) };
  const replaced: string[] = [];
  const merge = (a: unknown, b: unknown, path: string): unknown => {
    if (isPlainObject(a) && isPlainObject(b)) {
      const out: Plain = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = k in a ? merge(a[k], v, path + pointer([k])) : v;
      return out;
    }
    replaced.push(path);
    return b;
  };
  const value = merge(under.value, over.value, '');
  for (const prefix of replaced) {
    for (const map of [locations.values, locations.keys]) {
      for (const p of map.keys()) if (p.startsWith(prefix + '/')) map.delete(p);
    }
  }
  for (const [p, at] of over.locations.values) locations.values.set(p, at);
  for (const [p, at] of over.locations.keys) locations.keys.set(p, at);
  return { value, locations };
}

/** The value at `path` as a document of its own, its locations re-rooted. */
export function subDocument(doc: ParsedDocument, path: string[]): ParsedDocument | undefined {
  let value: unknown = doc.value;
  for (const key of path) {
    if (!isPlainObject(value) || !(key in value)) return undefined;
    value = value[key];
  }
  const prefix = pointer(path);
  const rebase = (map: Map<string, Location>) => {
    const out = new Map<string, Location>();
    for (const [p, at] of map) if (p === prefix || p.startsWith(prefix + '/')) out.set(p.slice(prefix.length), at);
    return out;
  };
  const locations = emptyLocations();
  locations.values = rebase(doc.locations.values);
  locations.keys = rebase(doc.locations.keys);
  return { value, locations };
}

/** The document without one top-level key. */
export function withoutKey(doc: ParsedDocument, key: string): ParsedDocument {
  if (!isPlainObject(doc.value) || !(key in doc.value)) return doc;
  const { [key]: _, ...rest } = doc.value;
  return { value: rest, locations: doc.locations };
}
