/** Reads a secret from the terminal without echoing it, or a whole pipe from stdin. */
import { invalid } from '../core/errors.ts';
import type { CliIO } from './io.ts';

export async function readAllStdin(io: CliIO): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Keystrokes that arrived after the Enter that ended a prompt, kept for the next prompt. */
const pending = new WeakMap<object, string>();

/**
 * Reads one line from the terminal without echoing it. Can be called again on
 * the same stream (a password and its confirmation), and after `promptLine`:
 * it listens for 'data' and pauses the stream when done, never destroying it,
 * and keeps what was typed ahead for the next prompt.
 */
export function promptHidden(io: CliIO, question: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  io.stderr.write(question);
  stdin.setRawMode?.(true);
  return new Promise((resolve, reject) => {
    let answer = '';
    /** Takes keystrokes; true once Enter ends the answer. */
    const take = (text: string): boolean => {
      const chars = [...text];
      for (const [index, char] of chars.entries()) {
        if (char === '\r' || char === '\n') {
          const rest = char === '\r' && chars[index + 1] === '\n' ? index + 2 : index + 1;
          pending.set(stdin, chars.slice(rest).join(''));
          return true;
        }
        if (char === '\u0003') throw invalid('INTERRUPTED', 'interrupted at the prompt');
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
      return false;
    };
    const finish = (error?: unknown): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', finish);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write('\n');
      if (error === undefined) resolve(answer);
      else reject(error instanceof Error ? error : new Error(String(error)));
    };
    const onData = (chunk: unknown): void => {
      try {
        if (take(String(chunk))) finish();
      } catch (error) {
        finish(error);
      }
    };
    const onEnd = (): void => finish();
    try {
      const ahead = pending.get(stdin) ?? '';
      pending.delete(stdin);
      if (take(ahead) || stdin.readableEnded === true) {
        finish();
        return;
      }
    } catch (error) {
      finish(error);
      return;
    }
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', finish);
    stdin.resume();
  });
}

export async function promptLine(io: CliIO, question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: false });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}
