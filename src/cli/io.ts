/**
 * What a command may touch of the outside world, passed in so commands can be
 * run in-process by tests: arguments, environment, and the three streams.
 */
export interface CliIO {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
}

export function processIO(): CliIO {
  return {
    env: process.env,
    // process.stdin is created on first access, loading the stream, net or
    // tty modules for it; most commands never read it, so it is taken only
    // when one does.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

export type OutputFormat = 'text' | 'json';

export function writeJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
