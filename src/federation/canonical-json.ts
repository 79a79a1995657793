import canonicalize from 'canonicalize';

// RFC 8785 canonical JSON. Objects from JSON.parse (plain objects and arrays of strings, finite
// numbers, booleans and null) take a direct recursive path, two to three times faster than the
// library's general one; anything else (toJSON, undefined members, NaN, lone surrogates, cycles,
// class instances) goes to the library, which serializes it or says why not.

/** Thrown by the direct path for a value it leaves to the library. */
const UNUSUAL = Symbol('unusual');

/** Deeper than any STIX object: past it, the library (which also finds cycles) decides. */
const MAX_DEPTH = 200;

function text(s: string): string {
  if (!s.isWellFormed()) throw UNUSUAL;
  return JSON.stringify(s);
}

function direct(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return text(value);
    case 'number':
      if (!Number.isFinite(value)) throw UNUSUAL;
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth > MAX_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function') throw UNUSUAL;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) throw UNUSUAL;
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + direct(value[i], depth + 1);
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw UNUSUAL;
      const record = value as Record<string, unknown>;
      // Default sort: by UTF-16 code units, the order RFC 8785 §3.2.3 asks for.
      const keys = Object.keys(record).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) out += `${i === 0 ? '' : ','}${text(keys[i]!)}:${direct(record[keys[i]!], depth + 1)}`;
      return `${out}}`;
    }
    default:
      throw UNUSUAL; // undefined, bigint, function, symbol
  }
}

/** The canonical JSON text of `value`; undefined when it has none; throws as the library does (NaN, lone surrogates, cycles). */
export function canonicalJson(value: unknown): string | undefined {
  try {
    return direct(value, 0);
  } catch (err) {
    if (err !== UNUSUAL) throw err;
  }
  return canonicalize(value);
}
