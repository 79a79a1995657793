// Cross-property rules and the builder that attaches them to an object schema.
// Rules run as zod refinements, so JSON Schema generation drops them; they may
// see values whose own checks failed, so each one checks the types it relies on.
import { z } from 'zod';
import { compareTimestamps, isStixTimestamp } from './timestamp.ts';

export type StixRecord = Record<string, unknown>;
export type Rule = (object: StixRecord, ctx: z.RefinementCtx) => void;

function has(object: StixRecord, property: string): boolean {
  return Object.hasOwn(object, property) && object[property] !== undefined;
}

/** `later` MUST be later than (strict) or equal to `earlier`, when both are present. */
export function inOrder(earlier: string, later: string, options: { strict?: boolean } = {}): Rule {
  const wanted = options.strict ? `must be later than ${earlier}` : `must be later than or equal to ${earlier}`;
  return (object, ctx) => {
    const a = object[earlier];
    const b = object[later];
    if (!isStixTimestamp(a) || !isStixTimestamp(b)) return;
    const order = compareTimestamps(a, b);
    if (order > 0 || (options.strict && order === 0)) ctx.addIssue({ code: 'custom', path: [later], message: wanted });
  };
}

export function atLeastOneOf(...properties: string[]): Rule {
  return (object, ctx) => {
    if (!properties.some((p) => has(object, p))) {
      ctx.addIssue({ code: 'custom', path: [], message: `at least one of ${properties.join(', ')} must be present` });
    }
  };
}

export function notBoth(a: string, b: string): Rule {
  return (object, ctx) => {
    if (has(object, a) && has(object, b)) ctx.addIssue({ code: 'custom', path: [b], message: `must not be present together with ${a}` });
  };
}

/** When `property` is present, every one of `required` must be too. */
export function requires(property: string, ...required: string[]): Rule {
  return (object, ctx) => {
    if (!has(object, property)) return;
    for (const r of required) {
      if (!has(object, r)) ctx.addIssue({ code: 'custom', path: [r], message: `is required when ${property} is present` });
    }
  };
}

/** At least one property besides the common ones (process §6.13, x509-certificate §6.18). */
export function notOnlyCommon(common: readonly string[]): Rule {
  return (object, ctx) => {
    if (Object.keys(object).every((k) => common.includes(k))) {
      ctx.addIssue({ code: 'custom', path: [], message: 'must have at least one property besides the common properties' });
    }
  };
}

const INDEX = /^\[(\d+)\]$/;

/** Whether a granular-marking selector (§7.2.3) resolves to a property or item of the object. */
export function selectorResolves(object: StixRecord, selector: string): boolean {
  let current: unknown = object;
  for (const step of selector.split('.')) {
    const index = INDEX.exec(step);
    if (index) {
      if (!Array.isArray(current) || Number(index[1]) >= current.length) return false;
      current = current[Number(index[1])];
    } else {
      // Own properties only: `constructor` or `__proto__` must not resolve through the prototype.
      if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, step)) return false;
      current = (current as StixRecord)[step];
    }
  }
  return true;
}

const selectorsResolve: Rule = (object, ctx) => {
  const markings = object['granular_markings'];
  if (!Array.isArray(markings)) return;
  markings.forEach((marking: unknown, i) => {
    const selectors = typeof marking === 'object' && marking !== null ? (marking as StixRecord)['selectors'] : undefined;
    if (!Array.isArray(selectors)) return;
    selectors.forEach((selector: unknown, j) => {
      if (typeof selector === 'string' && !selectorResolves(object, selector)) {
        const shown = selector.length > 80 ? `${selector.slice(0, 80)}…` : selector;
        ctx.addIssue({
          code: 'custom',
          path: ['granular_markings', i, 'selectors', j],
          message: `'${shown}' does not select a property of this object`,
        });
      }
    });
  });
};

/** Rules every object gets: §3 modified >= created, §7.2.3 selectors point inside the object. */
const COMMON_RULES: readonly Rule[] = [inOrder('created', 'modified'), selectorsResolve];

/** A loose object schema with the common rules and the type's own rules. */
export function stixObject<S extends z.core.$ZodLooseShape>(shape: S, ...rules: Rule[]) {
  const all = [...COMMON_RULES, ...rules];
  return z.looseObject(shape).superRefine((value, ctx) => {
    for (const rule of all) rule(value as StixRecord, ctx);
  });
}
