/**
 * Running a notation plugin (notaryproject/specifications
 * `specs/plugin-extensibility.md` "Plugin mechanism", "Plugin contract";
 * notation-go v1.3 `plugin/plugin.go`, `plugin/manager.go`):
 *
 * - the executable is `{NOTATION_CONFIG}/plugins/{name}/notation-{name}`,
 *   a regular file (a symbolic link is refused, as the spec requires) that
 *   this user may execute; the name is a file name ([a-zA-Z0-9_.-]+, not `.`
 *   or `..`), so it cannot climb out of the plugins directory;
 * - each command runs the executable once with the command as its only
 *   argument, the JSON request on stdin, and the answer on stdout; exit code
 *   0 is an answer, anything else an error, described by the JSON error on
 *   stderr when there is one (`errorCode`, `errorMessage`);
 * - stdout is capped (notation-go `maxPluginOutputSize`, 64 MiB: an
 *   envelope a plugin generates may be 32 MiB, 43 once base64 encoded), and
 *   a plugin that writes more is killed and refused; stderr is kept up to
 *   1 MiB, for the error message;
 * - every run has a time limit (notation-go has only its context's): a
 *   plugin that hangs is killed and the command fails, and so does one the
 *   caller's signal stops.
 *
 * What a plugin prints is hostile text: messages quote it with control
 * characters replaced and cut to a few hundred characters. The plugin's
 * environment is the caller's to give (the CLI passes its own: KMS plugins
 * read their credentials there); nothing here reads the process's.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { abortError } from '../core/abort.ts';
import { denied, invalid, messageOf, unavailable, type VouchError } from '../core/errors.ts';
import { parsePluginError, type PluginCommand } from '../formats/notation/plugin-protocol.ts';
import type {} from './error-codes.ts';

/** notation-go plugin.go maxPluginOutputSize. */
export const DEFAULT_MAX_PLUGIN_OUTPUT_BYTES = 64 * 1024 * 1024;
/** Enough for a KMS round trip or a hardware token's PIN entry; a hung plugin fails the command. */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 120_000;
const MAX_STDERR_BYTES = 1024 * 1024;
/** internal/file/file.go IsValidFileName. */
const PLUGIN_NAME = /^[a-zA-Z0-9_.-]+$/;

export interface PluginOptions {
  /** The plugin's environment (module comment). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long one command may run; DEFAULT_PLUGIN_TIMEOUT_MS unless given. */
  readonly timeoutMs?: number;
  /** The most bytes a plugin may write on stdout; DEFAULT_MAX_PLUGIN_OUTPUT_BYTES unless given. */
  readonly maxOutputBytes?: number;
  /** Stops a running command (the command's deadline). */
  readonly signal?: AbortSignal;
}

/** `{configDir}/plugins/{name}/notation-{name}` (dir/path.go PluginFS, plugin/manager.go binName). */
function pluginPath(configDir: string, name: string): string {
  return join(configDir, 'plugins', name, `notation-${name}`);
}

/** Text a plugin wrote, fit for a message: control characters replaced, at most 400 characters. */
function quotePluginText(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  const clean = text.trim().replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');
  return clean.length > 400 ? `${clean.slice(0, 397)}...` : clean;
}

/** The plugin's error codes a retry does not cure (plugin-extensibility.md "Error codes"). */
const CALLER_ERRORS = ['VALIDATION_ERROR', 'UNSUPPORTED_CONTRACT_VERSION', 'ACCESS_DENIED'];

export class NotationPlugin {
  readonly name: string;
  readonly path: string;
  readonly #options: PluginOptions;

  private constructor(name: string, path: string, options: PluginOptions) {
    this.name = name;
    this.path = path;
    this.#options = options;
  }

  /**
   * The plugin `name` of `configDir` (module comment). Throws `invalid`
   * NOTATION_PLUGIN_NOT_FOUND when it is not installed, NOTATION_PLUGIN_UNUSABLE
   * when its executable is not one notation would run.
   */
  static async open(
    configDir: string,
    name: string,
    options: PluginOptions,
  ): Promise<NotationPlugin> {
    if (!PLUGIN_NAME.test(name) || name === '.' || name === '..') {
      throw invalid(
        'NOTATION_PLUGIN_NOT_FOUND',
        `${JSON.stringify(name)} is not a plugin name: a plugin name follows [a-zA-Z0-9_.-]+`,
      );
    }
    const path = pluginPath(configDir, name);
    let stats;
    try {
      stats = await lstat(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw invalid(
          'NOTATION_PLUGIN_NOT_FOUND',
          `plugin ${JSON.stringify(name)} is not installed: there is no ${path}`,
        );
      }
      throw invalid('NOTATION_PLUGIN_UNUSABLE', `cannot inspect ${path}: ${messageOf(error)}`);
    }
    if (stats.isSymbolicLink()) {
      throw invalid(
        'NOTATION_PLUGIN_UNUSABLE',
        `plugin executable ${path} is a symbolic link; notation runs only regular files`,
      );
    }
    if (!stats.isFile()) {
      throw invalid('NOTATION_PLUGIN_UNUSABLE', `plugin executable ${path} is not a regular file`);
    }
    try {
      await access(path, constants.X_OK);
    } catch {
      throw invalid(
        'NOTATION_PLUGIN_UNUSABLE',
        `plugin executable ${path} is not executable by this user`,
      );
    }
    return new NotationPlugin(name, path, options);
  }

  /**
   * Runs `command` with `request` as its JSON input; returns what it wrote on
   * stdout. Throws (module comment): `invalid` NOTATION_PLUGIN_FAILED for a
   * plugin error a retry does not cure (VALIDATION_ERROR,
   * UNSUPPORTED_CONTRACT_VERSION, ACCESS_DENIED), `unavailable`
   * NOTATION_PLUGIN_FAILED for any other failure, `unavailable`
   * NOTATION_PLUGIN_TIMEOUT, `denied` NOTATION_PLUGIN_RESPONSE_INVALID for
   * output over the cap, `invalid` NOTATION_PLUGIN_UNUSABLE when it cannot
   * be started.
   */
  run(command: PluginCommand, request: unknown): Promise<Uint8Array> {
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
    const maxOutput = this.#options.maxOutputBytes ?? DEFAULT_MAX_PLUGIN_OUTPUT_BYTES;
    const signal = this.#options.signal;
    const what = `plugin ${JSON.stringify(this.name)} (${command})`;
    return new Promise<Uint8Array>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(abortError(signal, what));
        return;
      }
      const child = spawn(this.path, [command], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: definedEntries(this.#options.env),
        shell: false,
        windowsHide: true,
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let stdoutBytes = 0;
      let stderrBytes = 0;
      let settled = false;
      const finish = (outcome: { error: VouchError } | { output: Uint8Array }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if ('error' in outcome) {
          // The plugin may have children holding its pipes: stop reading them too.
          child.kill('SIGKILL');
          child.stdout.destroy();
          child.stderr.destroy();
          reject(outcome.error);
        } else {
          resolve(outcome.output);
        }
      };
      const timer = setTimeout(
        () =>
          finish({
            error: unavailable(
              'NOTATION_PLUGIN_TIMEOUT',
              `${what} did not answer within ${timeoutMs / 1000} s; it was stopped`,
            ),
          }),
        timeoutMs,
      );
      const onAbort = () => finish({ error: abortError(signal as AbortSignal, what) });
      signal?.addEventListener('abort', onAbort, { once: true });
      child.once('error', (error) =>
        finish({
          error: invalid('NOTATION_PLUGIN_UNUSABLE', `cannot run ${what}: ${messageOf(error)}`, {
            cause: error,
          }),
        }),
      );
      child.stdout.on('data', (chunk: Buffer) => {
        stdoutBytes += chunk.byteLength;
        if (stdoutBytes > maxOutput) {
          finish({
            error: denied(
              'NOTATION_PLUGIN_RESPONSE_INVALID',
              `${what} wrote more than ${maxOutput} bytes on stdout; it was stopped`,
            ),
          });
          return;
        }
        stdout.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderrBytes < MAX_STDERR_BYTES)
          stderr.push(chunk.subarray(0, MAX_STDERR_BYTES - stderrBytes));
        stderrBytes += chunk.byteLength;
      });
      // A plugin that exits without reading its input closes the pipe: not our failure.
      child.stdin.on('error', () => {});
      child.stdin.end(JSON.stringify(request));
      child.once('close', (code, killedBy) => {
        if (code === 0) {
          finish({ output: new Uint8Array(Buffer.concat(stdout)) });
          return;
        }
        finish({ error: failure(what, code, killedBy, new Uint8Array(Buffer.concat(stderr))) });
      });
    });
  }
}

function definedEntries(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

/** The error of a plugin that exited with `code` (or was killed by `killedBy`), from its stderr. */
function failure(
  what: string,
  code: number | null,
  killedBy: NodeJS.Signals | null,
  stderr: Uint8Array,
): VouchError {
  const reported = parsePluginError(stderr);
  if (reported !== undefined) {
    const detail = `${quotePluginText(reported.errorCode)}${reported.errorMessage === undefined ? '' : `: ${quotePluginText(reported.errorMessage)}`}`;
    const message = `${what} failed: ${detail}`;
    return CALLER_ERRORS.includes(reported.errorCode)
      ? invalid('NOTATION_PLUGIN_FAILED', message)
      : unavailable('NOTATION_PLUGIN_FAILED', message);
  }
  const how = killedBy === null ? `exit code ${code}` : `killed by ${killedBy}`;
  const text = quotePluginText(new TextDecoder().decode(stderr));
  return unavailable(
    'NOTATION_PLUGIN_FAILED',
    `${what} failed (${how})${text === '' ? ' without a message' : `: ${text}`}`,
  );
}
