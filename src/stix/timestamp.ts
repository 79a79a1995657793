// STIX timestamps (STIX 2.1 §2, timestamp): RFC 3339, UTC with 'Z', optional fractional
// seconds of any precision. Compared as strings, not via Date, so that versions
// differing below the millisecond still order correctly.
import { z } from 'zod';

export const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z$/;
export const TIMESTAMP_MESSAGE = "must be a STIX timestamp (RFC 3339, UTC, 'Z')";

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** The number in `n` ASCII digits of `s` from `at`; -1 when one of them is not a digit. */
function digitsAt(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * True for a well-formed timestamp whose fields are real calendar values: TIMESTAMP_PATTERN read
 * character by character, since every object carries several timestamps and a match array and
 * its numbers for each were a measurable part of ingest.
 */
export function isStixTimestamp(value: unknown): value is string {
  if (typeof value !== 'string' || value.length < 20 || value.charCodeAt(value.length - 1) !== 90 /* Z */) return false;
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  const hour = digitsAt(value, 11, 2);
  const minute = digitsAt(value, 14, 2);
  const second = digitsAt(value, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return false;
  if (value[4] !== '-' || value[7] !== '-' || value[10] !== 'T' || value[13] !== ':' || value[16] !== ':') return false;
  // Then either 'Z' or a decimal point, at least one digit, and 'Z'.
  if (value.length > 20 && (value[19] !== '.' || digitsAt(value, 20, value.length - 21) < 0 || value.length === 21)) return false;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour > 23 || minute > 59) return false;
  // RFC 3339 §5.7 allows a leap second, which can only be the last second of a UTC day.
  return second <= 59 || (second === 60 && hour === 23 && minute === 59);
}

/** -1, 0 or 1 as `a` is earlier than, equal to or later than `b`; both must be valid timestamps. */
export function compareTimestamps(a: string, b: string): number {
  const baseA = a.slice(0, 19);
  const baseB = b.slice(0, 19);
  if (baseA !== baseB) return baseA < baseB ? -1 : 1;
  let fracA = a.slice(20, -1);
  let fracB = b.slice(20, -1);
  const width = Math.max(fracA.length, fracB.length);
  fracA = fracA.padEnd(width, '0');
  fracB = fracB.padEnd(width, '0');
  return fracA === fracB ? 0 : fracA < fracB ? -1 : 1;
}

// The regex stays in the JSON Schema; the calendar check is a refinement, dropped there.
export const timestampSchema = z
  .string()
  .regex(TIMESTAMP_PATTERN, { error: TIMESTAMP_MESSAGE, abort: true })
  .refine(isStixTimestamp, TIMESTAMP_MESSAGE);
