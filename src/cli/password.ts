/**
 * How the CLI gets the password of a cosign encrypted key — never from argv.
 * In order, the first that is present wins:
 *
 * 1. `--password-file FILE`: the first line of FILE, without its line ending
 *    (the bytes as they are, not decoded);
 * 2. `$VOUCH_PASSWORD`, then `$COSIGN_PASSWORD`: a variable that is set but
 *    empty means an empty password, as in cosign;
 * 3. a hidden prompt on the terminal (asked twice when creating a key);
 * 4. otherwise (no terminal) an `invalid` error `PASSWORD_REQUIRED` (exit 2)
 *    that says how to supply one.
 *
 * For command authors (`sign`, `attest`, …) that take a private `--key`:
 *
 *     import { KEY_PASSWORD_HELP, KEY_PASSWORD_OPTIONS, loadSigningKey } from '../password.ts';
 *
 *     const { values } = parseFlags(args, { key: { type: 'string' }, ...KEY_PASSWORD_OPTIONS });
 *     const signer = await loadSigningKey(io, values.key, values); // once, before the images
 *
 * - `KEY_PASSWORD_OPTIONS`: the flag definitions to spread into `parseFlags`;
 *   `KEY_PASSWORD_HELP`: the matching paragraph for the command's help text.
 * - `loadSigningKey(io, path, values)`: reads the key file (a cosign encrypted
 *   key, or a plain PKCS#8/SEC1/PKCS#1 PEM key, which needs no password),
 *   asks for the password only if the key is encrypted, and returns a
 *   `Signer`. A wrong password is `invalid` `WRONG_PASSWORD` (exit 2) naming
 *   where the password came from; a public key file is `NOT_A_PRIVATE_KEY`.
 * - `loadPrivateKeyFile(io, path, values)`: the same, returning the KeyObject.
 * - `passwordSource(io, values, options)`: the lazy, memoised callback that
 *   `loadPrivateKey`'s `password` option takes, for other key sources.
 * - `newKeyPassword(io, values)`: the password for a key being created.
 */
import type { KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import { hasCode, invalid, isVouchError, messageOf } from '../core/errors.ts';
import type { Password } from '../keys/cosign-key.ts';
import { readKeyFile } from '../keys/files.ts';
import { loadPrivateKey } from '../keys/load.ts';
import { decodePem } from '../keys/pem.ts';
import type { Signer } from '../keys/signer.ts';
import { imageSigner } from '../sign/image-signer.ts';
import type { CliIO } from './io.ts';
import { promptHidden } from './prompt.ts';

export const KEY_PASSWORD_OPTIONS = {
  'password-file': { type: 'string' },
} as const;

export const KEY_PASSWORD_HELP = `Key password (never taken from the command line; the first of these that is present):
      --password-file FILE   the first line of FILE
  then $VOUCH_PASSWORD, then $COSIGN_PASSWORD (set but empty means an empty password),
  then a prompt on the terminal.`;

/** The parsed flags this module reads (what `KEY_PASSWORD_OPTIONS` produces). */
export interface PasswordFlags {
  readonly 'password-file'?: string | undefined;
}

export interface PasswordSourceOptions {
  /** The key is being created: ask twice at the terminal and require the same answer. */
  readonly confirm?: boolean;
  /** The key file, named in the prompt and in errors. */
  readonly keyPath?: string;
}

interface SuppliedPassword {
  readonly password: Password;
  /** Where it came from, for error messages: `$VOUCH_PASSWORD`, `--password-file F`, … */
  readonly origin: string;
}

/** A password file is one line; refuse to read more than this looking for it. */
const MAX_PASSWORD_FILE_BYTES = 64 * 1024;

/**
 * A callback for `loadPrivateKey`'s `password` option: called only when the
 * key is encrypted, and at most once (later calls return the same promise).
 */
export function passwordSource(
  io: CliIO,
  values: PasswordFlags,
  options?: PasswordSourceOptions,
): () => Promise<Password> {
  let supplied: Promise<SuppliedPassword> | undefined;
  return async () => {
    supplied ??= obtainPassword(io, values, options);
    return (await supplied).password;
  };
}

/** The password for a new key (generate, import), confirmed when typed at the terminal. */
export async function newKeyPassword(
  io: CliIO,
  values: PasswordFlags,
  keyPath?: string,
): Promise<Password> {
  const options = keyPath === undefined ? { confirm: true } : { confirm: true, keyPath };
  return (await obtainPassword(io, values, options)).password;
}

/**
 * The private key in the file `path`: a cosign encrypted key (the password is
 * obtained as described at the top of this module, only when needed) or a
 * plain PEM private key.
 */
export async function loadPrivateKeyFile(
  io: CliIO,
  path: string,
  values: PasswordFlags,
): Promise<KeyObject> {
  const bytes = await readKeyFile(path, 'key file');
  refusePublicKey(bytes, path);
  let origin: string | undefined;
  try {
    return await loadPrivateKey(bytes, {
      source: path,
      password: async () => {
        const supplied = await obtainPassword(io, values, { keyPath: path });
        origin = supplied.origin;
        return supplied.password;
      },
    });
  } catch (error) {
    if (hasCode(error, 'WRONG_PASSWORD') && origin !== undefined) {
      throw invalid('WRONG_PASSWORD', `${error.message}; the password came from ${origin}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** A `Signer` over the private key in the file `path`; see `loadPrivateKeyFile`. */
export async function loadSigningKey(
  io: CliIO,
  path: string,
  values: PasswordFlags,
): Promise<Signer> {
  return imageSigner(await loadPrivateKeyFile(io, path, values));
}

async function obtainPassword(
  io: CliIO,
  values: PasswordFlags,
  options?: PasswordSourceOptions,
): Promise<SuppliedPassword> {
  const file = values['password-file'];
  if (file !== undefined)
    return { password: await readPasswordFile(file), origin: `--password-file ${file}` };
  for (const name of ['VOUCH_PASSWORD', 'COSIGN_PASSWORD']) {
    const value = io.env[name];
    if (value !== undefined) return { password: value, origin: `$${name}` };
  }
  const named = options?.keyPath === undefined ? '' : ` ${options.keyPath}`;
  const creating = options?.confirm === true;
  if (io.stdin.isTTY !== true) {
    const what = creating
      ? `no password was given for the new private key${named}`
      : `the private key${named} is encrypted and no password was given`;
    throw invalid(
      'PASSWORD_REQUIRED',
      `${what}, and there is no terminal to ask for one: set VOUCH_PASSWORD (or COSIGN_PASSWORD) in the environment, or pass --password-file FILE`,
    );
  }
  const password = await promptHidden(
    io,
    creating ? 'Enter password for private key: ' : `Enter password for private key${named}: `,
  );
  if (creating && (await promptHidden(io, 'Enter password for private key again: ')) !== password)
    throw invalid('PASSWORD_MISMATCH', 'the two passwords typed do not match');
  return { password, origin: 'the terminal' };
}

/** The first line of `path`, without `\n` or `\r\n`: an empty file is an empty password. */
async function readPasswordFile(path: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw invalid(
      'PASSWORD_FILE_UNREADABLE',
      `cannot read --password-file ${path}: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  try {
    const buffer = Buffer.alloc(MAX_PASSWORD_FILE_BYTES);
    let length = 0;
    for (;;) {
      const newline = buffer.subarray(0, length).indexOf(0x0a);
      if (newline >= 0) {
        length = newline;
        break;
      }
      if (length === buffer.length) {
        throw invalid(
          'PASSWORD_FILE_TOO_LARGE',
          `--password-file ${path} has no line break in its first ${MAX_PASSWORD_FILE_BYTES} bytes; it should hold the password on one line`,
        );
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > 0 && buffer[length - 1] === 0x0d) length--;
    return new Uint8Array(buffer.subarray(0, length));
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw invalid(
      'PASSWORD_FILE_UNREADABLE',
      `cannot read --password-file ${path}: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    await handle.close();
  }
}

/** `--key cosign.pub` is a common slip: say so plainly instead of "unsupported PEM type". */
function refusePublicKey(bytes: Uint8Array, path: string): void {
  let type: string;
  try {
    type = decodePem(bytes).type;
  } catch {
    return; // loadPrivateKey reports malformed input with its own message
  }
  if (type === 'PUBLIC KEY' || type === 'RSA PUBLIC KEY' || type === 'CERTIFICATE') {
    throw invalid(
      'NOT_A_PRIVATE_KEY',
      `${path} holds a ${type === 'CERTIFICATE' ? 'certificate' : 'public key'} ("${type}"), not a private key: pass the private key file (cosign.key, not cosign.pub)`,
    );
  }
}
