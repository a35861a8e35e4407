/**
 * Expiry times as notary writes them: Go `time.Time` marshalled with
 * RFC3339Nano (tuf/data/types.go `SignedCommon.Expires`), e.g.
 * `2036-11-19T01:49:28.306307292Z`, or with a `+hh:mm` offset when the
 * signer's zone is not UTC. Go's decoder takes 1 to 9 fractional digits;
 * a JavaScript Date keeps milliseconds, which is ample for expiry checks
 * (the extra digits are truncated, never rounded up past the real instant).
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch, or undefined when `text` is not RFC 3339 as Go reads it. */
export function parseGoTime(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match as unknown as string[];
  const fields = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [y, mo, d, h, mi, s] = fields;
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const sign = zone?.startsWith('-') ? -1 : 1;
    const [zh, zm] = (zone ?? '+00:00').slice(1).split(':').map(Number) as [number, number];
    if (zh > 23 || zm > 59) return undefined;
    offsetMinutes = sign * (zh * 60 + zm);
  }
  const millis = Number((fraction ?? '').padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, millis);
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear undoes that.
  const date = new Date(utc);
  date.setUTCFullYear(y);
  return date.getTime() - offsetMinutes * 60_000;
}

function daysIn(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0); // day 0 of the next month: the last day of this one
  return date.getUTCDate();
}
