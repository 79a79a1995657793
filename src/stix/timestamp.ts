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

/** True for a well-formed timestamp whose fields are real calendar values. */
export function isStixTimestamp(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = TIMESTAMP_PATTERN.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
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
