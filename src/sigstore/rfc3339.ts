/**
 * Times in Sigstore's JSON documents: `google.protobuf.Timestamp` in its JSON
 * form, RFC 3339 (protobuf.dev/programming-guides/json), read strictly (a
 * calendar date that exists, hours to 23, seconds to 59) by the trusted root
 * and the signing config alike.
 */
import type { JsonValue } from '../core/strict-json.ts';

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 time in milliseconds since the epoch. Sub-millisecond digits
 * are rounded `up` (a start) or `down` (an end), so a validity period is
 * never widened. Throws `problem(...)` naming `what` for anything else.
 */
export function rfc3339Millis(
  value: JsonValue,
  round: 'up' | 'down',
  what: string,
  problem: (message: string) => Error,
): number {
  const match = typeof value === 'string' ? RFC3339.exec(value) : null;
  if (match === null) throw problem(`${what} is not an RFC 3339 time`);
  const [, year, month, day, hour, minute, second, fraction = '', , sign, offH, offM] =
    match as unknown as string[];
  const whole = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
  );
  const check = new Date(whole);
  if (
    Number.isNaN(whole) ||
    check.getUTCFullYear() !== Number(year) ||
    check.getUTCMonth() !== Number(month) - 1 ||
    check.getUTCDate() !== Number(day) ||
    Number(hour) > 23 ||
    Number(minute) > 59 ||
    Number(second) > 59
  ) {
    throw problem(`${what} is not a valid time`);
  }
  const nanos = Number(fraction.padEnd(9, '0'));
  const millis = round === 'up' ? Math.ceil(nanos / 1e6) : Math.floor(nanos / 1e6);
  const offset =
    sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offH) * 60 + Number(offM)) * 60_000;
  return whole + millis - offset;
}
