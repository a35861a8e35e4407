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
