/**
 * Log lines written in batches instead of one write per line.
 *
 * `vouch admission serve` logs a line per decision. process.stdout to a pipe
 * (a container's log pipe, or the bench's) is synchronous on Linux (Node's
 * process I/O notes): each line was a write(2) on the request path, about
 * 60 µs there in a CPU profile of 500 cache hits/s (27% of the webhook's
 * busy time), and woke the reader for every line. Here lines are collected
 * and written together at most `flushMs` later, or at once when `maxBytes`
 * are waiting, so a write leaves the request path and carries many lines.
 *
 * Nothing is lost on the way out: `flush()` writes what is waiting, and
 * `flushOnExit()` makes sure it runs when the process exits, whatever the
 * reason (the write is synchronous for pipes, files and terminals, so it is
 * done before the process is). The timer is unref'd: a pending batch alone
 * does not keep the process running.
 */
export interface BatchedLinesOptions {
  /** Longest time a line waits before it is written. */
  readonly flushMs: number;
  /** Waiting bytes (UTF-16 code units, near enough) that trigger a write at once. */
  readonly maxBytes: number;
}

export const DEFAULT_BATCHED_LINES: BatchedLinesOptions = { flushMs: 50, maxBytes: 16 * 1024 };

export class BatchedLines {
  readonly #stream: NodeJS.WritableStream;
  readonly #options: BatchedLinesOptions;
  #pending: string[] = [];
  #pendingBytes = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(stream: NodeJS.WritableStream, options: BatchedLinesOptions = DEFAULT_BATCHED_LINES) {
    this.#stream = stream;
    this.#options = options;
  }

  /** Queues `line` (its own newline included). */
  write(line: string): void {
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= this.#options.maxBytes) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#options.flushMs);
      this.#timer.unref();
    }
  }

  /** Writes every queued line now, in one write. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const text = this.#pending.join('');
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#stream.write(text);
  }

  /** Flushes when the process exits; returns the undo (for a command run in-process). */
  flushOnExit(): () => void {
    const flush = () => this.flush();
    process.once('exit', flush);
    return () => process.off('exit', flush);
  }
}
