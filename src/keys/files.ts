/**
 * Key files on disk: reading a key file with a size cap, and writing a key
 * pair the way `cosign generate-key-pair` lays it out (`P.key` mode 0600,
 * `P.pub` mode 0644, docs/formats.md "Cosign key files"), but safely:
 *
 * - without `force`, each file is created exclusively (`O_CREAT|O_EXCL`), so
 *   an existing file, or a symbolic link planted in its place, is never
 *   overwritten or followed; if the second file turns out to exist, the first
 *   one, which this call created, is removed again;
 * - with `force`, both files are written to temporary files in the same
 *   directory first and then renamed over the targets, so each target is
 *   replaced atomically (a reader sees the old file or the new one, never a
 *   partial one) and a symbolic link at the target is replaced, not followed.
 *
 * Errors are `invalid` (the path the caller gave is wrong: missing directory,
 * existing file, no permission) or `unavailable` (the disk failed us).
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  type CodeOf,
  invalid,
  isVouchError,
  messageOf,
  unavailable,
  type VouchError,
} from '../core/errors.ts';
import { MAX_PEM_LENGTH } from './pem.ts';

export interface KeyPairPaths {
  /** `<prefix>.key`: the encrypted private key. */
  readonly privateKey: string;
  /** `<prefix>.pub`: the SPKI PEM public key. */
  readonly publicKey: string;
}

export interface KeyPairFiles {
  /** The text of the private key file (a cosign encrypted key). */
  readonly privateKey: string;
  /** The text of the public key file. */
  readonly publicKey: string;
}

export interface WriteKeyPairOptions {
  /** Replace existing files (atomically) instead of refusing. Default false. */
  readonly force?: boolean;
}

export const PRIVATE_KEY_FILE_MODE = 0o600;
export const PUBLIC_KEY_FILE_MODE = 0o644;

/** `<prefix>.key` and `<prefix>.pub`, as cosign names them. */
export function keyPairPaths(prefix: string): KeyPairPaths {
  if (prefix === '' || prefix.endsWith('/') || prefix.endsWith('\\')) {
    throw invalid(
      'INVALID_KEY_PREFIX',
      `"${prefix}" is not a key file prefix: expected a path without an extension, such as "cosign" or "keys/release"`,
    );
  }
  return { privateKey: `${prefix}.key`, publicKey: `${prefix}.pub` };
}

/**
 * Checks, before any work is done (a password prompt, key generation), that
 * the pair can be written: the directory exists and, without `force`, neither
 * file does. `writeKeyPair` checks again as it writes.
 */
export async function checkKeyPairTargets(
  paths: KeyPairPaths,
  options?: WriteKeyPairOptions,
): Promise<void> {
  for (const path of [paths.privateKey, paths.publicKey]) {
    await checkDirectory(path);
    if (options?.force !== true && (await exists(path))) throw alreadyExists(path);
  }
}

/** Writes both files of a key pair; see the module comment for the guarantees. */
export async function writeKeyPair(
  paths: KeyPairPaths,
  files: KeyPairFiles,
  options?: WriteKeyPairOptions,
): Promise<void> {
  await checkKeyPairTargets(paths, options);
  const targets = [
    { path: paths.privateKey, data: files.privateKey, mode: PRIVATE_KEY_FILE_MODE },
    { path: paths.publicKey, data: files.publicKey, mode: PUBLIC_KEY_FILE_MODE },
  ];
  if (options?.force === true) {
    const temporaries: string[] = [];
    try {
      for (const target of targets)
        temporaries.push(await writeTemporary(target.path, target.data, target.mode));
      for (const [index, target] of targets.entries())
        await renameOver(temporaries[index] as string, target.path);
    } finally {
      await Promise.all(temporaries.map((path) => unlink(path).catch(() => undefined)));
    }
    return;
  }
  const created: string[] = [];
  try {
    for (const target of targets) {
      await writeExclusive(target.path, target.data, target.mode);
      created.push(target.path);
    }
  } catch (error) {
    await Promise.all(created.map((path) => unlink(path).catch(() => undefined)));
    throw error;
  }
}

export interface WriteFileOptions {
  /** Permission bits of a new file (the process umask still applies). */
  readonly mode: number;
  /** Replace an existing file atomically; without it an existing file is an error. */
  readonly replace?: boolean;
}

/** Writes one file exclusively, or replaces it atomically with `replace`. */
export async function writeFileSafely(
  path: string,
  data: string | Uint8Array,
  options: WriteFileOptions,
): Promise<void> {
  await checkDirectory(path);
  if (options.replace !== true) {
    await writeExclusive(path, data, options.mode);
    return;
  }
  const temporary = await writeTemporary(path, data, options.mode);
  try {
    await renameOver(temporary, path);
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/**
 * The bytes of a key file, refusing more than `MAX_PEM_LENGTH` (key files are
 * a few kilobytes). `what` names the file in messages, e.g. `"--key"`.
 */
export async function readKeyFile(path: string, what = 'key file'): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fileError(error, `cannot read ${what} ${path}`, 'KEY_FILE_UNREADABLE');
  }
  try {
    if ((await handle.stat()).isDirectory())
      throw invalid('KEY_FILE_UNREADABLE', `cannot read ${what} ${path}: it is a directory`);
    // Read one byte past the cap to tell "exactly at the cap" from "over it".
    const buffer = Buffer.alloc(MAX_PEM_LENGTH + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_PEM_LENGTH) {
        throw invalid(
          'KEY_FILE_TOO_LARGE',
          `${what} ${path} is larger than ${MAX_PEM_LENGTH} bytes; a key file is a few kilobytes`,
        );
      }
    }
    return new Uint8Array(buffer.subarray(0, length)); // a copy: do not keep 1 MiB alive
  } catch (error) {
    throw fileError(error, `cannot read ${what} ${path}`, 'KEY_FILE_UNREADABLE');
  } finally {
    await handle.close();
  }
}

/** Whether a file of this name exists (a dangling symbolic link counts). */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fileError(error, `cannot check ${path}`);
  }
}

async function checkDirectory(path: string): Promise<void> {
  const directory = dirname(path);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') isDirectory = false;
    else throw fileError(error, `cannot write ${path}`);
  }
  if (!isDirectory) {
    throw invalid(
      'DIRECTORY_NOT_FOUND',
      `cannot write ${path}: directory ${directory} does not exist (create it first)`,
    );
  }
}

function alreadyExists(path: string): VouchError {
  return invalid('KEY_FILE_EXISTS', `${path} already exists; not overwriting it`);
}

async function writeExclusive(path: string, data: string | Uint8Array, mode: number) {
  let handle;
  try {
    handle = await open(path, 'wx', mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(path);
    throw fileError(error, `cannot create ${path}`);
  }
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw fileError(error, `cannot write ${path}`);
  }
  await handle.close();
}

/** A new file beside `path` holding `data`; returns its name. */
async function writeTemporary(path: string, data: string | Uint8Array, mode: number) {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  await writeExclusive(temporary, data, mode);
  return temporary;
}

async function renameOver(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    throw fileError(error, `cannot replace ${to}`);
  }
}

const CALLER_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EROFS', 'ELOOP']);

/** An fs error as ours: the caller's path is wrong (`invalid`) or the disk failed (`unavailable`). */
function fileError(
  error: unknown,
  what: string,
  code: CodeOf<'invalid'> = 'KEY_FILE_UNWRITABLE',
): VouchError {
  if (isVouchError(error)) return error;
  const errno = (error as NodeJS.ErrnoException).code ?? '';
  const message = `${what}: ${messageOf(error)}`;
  return CALLER_ERRORS.has(errno)
    ? invalid(code, message, { cause: error })
    : unavailable('KEY_FILE_IO_FAILED', message, { cause: error });
}
