/**
 * Runs the CLI in-process through `main(argv, io)`, with collected output, a
 * given environment and what a pipe would deliver on stdin.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { main } from '../../src/cli/main.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  /**
   * The whole environment the CLI sees. By default only DOCKER_CONFIG, set to
   * a path that does not exist, so no test reads the real ~/.docker.
   */
  readonly env?: Record<string, string | undefined>;
  /** What a pipe would deliver on stdin; nothing by default. */
  readonly stdin?: readonly string[];
}

/** A directory that does not exist: no credentials, no credential helpers. */
export const NO_DOCKER_CONFIG = join(tmpdir(), 'vouch-no-docker-config');

/** A stream that keeps every chunk written to it; `text()` decodes them all. */
function collector(): { readonly stream: Writable; readonly text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      callback();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Runs `vouch <argv>` in-process; resolves with its exit code and everything it wrote. */
export async function runVouch(
  argv: readonly string[],
  options: CliRunOptions = {},
): Promise<CliRun> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(argv, {
    env: options.env ?? { DOCKER_CONFIG: NO_DOCKER_CONFIG },
    stdin: Readable.from(options.stdin ?? []),
    stdout: stdout.stream,
    stderr: stderr.stream,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
