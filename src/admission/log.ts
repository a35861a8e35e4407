/**
 * Structured logs: the webhook hands each entry (one JSON object: one line
 * per decision, plus start-up, reloads and errors) to a sink the caller
 * provides. The library never prints (docs/design.md); the CLI writes the lines.
 */
export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly [field: string]: unknown;
}

export type AdmissionLog = (entry: LogEntry) => void;

/**
 * The line `vouch admission serve` writes for `entry`: one JSON object, its
 * `time` first, then the entry's own fields, and a newline. Written without
 * copying the entry into a new object for every decision (issue 15:
 * allocation per review): `entry` always has `level`, so its JSON is never
 * `{}`.
 */
export function logLine(entry: LogEntry, time: Date): string {
  // An entry's own `time` replaces the clock's, in the first place, as a spread copy does.
  if (Object.hasOwn(entry, 'time')) return `${JSON.stringify({ time, ...entry })}\n`;
  return `{"time":${JSON.stringify(time.toISOString())},${JSON.stringify(entry).slice(1)}\n`;
}
