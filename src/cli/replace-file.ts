/**
 * Writing a file the user named, in place: through symlinks to the file
 * they lead to (a link stays a link, its target gets the content), as a
 * temporary file beside that target renamed over it (rename(2) replaces
 * atomically: a reader sees the old content or the new, never part of it),
 * with the target's mode and, where the process may set it, its owner. On
 * failure the target is untouched and the temporary file removed.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { invalid, isVouchError, messageOf } from '../core/errors.ts';

/** Links followed by hand to a file not there yet, as the kernel's own limit (Linux MAXSYMLINKS). */
const MAX_LINKS = 40;

export interface ReplaceOptions {
  /**
   * The content the caller read and changed: if the file holds anything
   * else now, it changed meanwhile and is not overwritten (`invalid`
   * FILE_CHANGED).
   */
  readonly expected?: string;
}

/** Writes `text` to the file `path` leads to; throws `invalid` FILE_UNWRITABLE or FILE_CHANGED. */
export async function replaceFile(
  path: string,
  text: string,
  options: ReplaceOptions = {},
): Promise<void> {
  let temporary: string | undefined;
  try {
    const target = await targetOf(path);
    const current = await stat(target).catch((error: unknown) => {
      if (codeOf(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (options.expected !== undefined && (await readFile(target, 'utf8')) !== options.expected) {
      throw invalid('FILE_CHANGED', `${path} changed while vouch was working; not written`);
    }
    temporary = join(
      dirname(target),
      `.${basename(target)}.vouch-${randomBytes(6).toString('hex')}`,
    );
    const handle = await open(temporary, 'wx', current === undefined ? 0o666 : 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      if (current !== undefined) {
        await handle.chmod(current.mode & 0o7777);
        // Only a privileged process may give a file away; otherwise the new file is ours.
        if (current.uid !== process.getuid?.() || current.gid !== process.getgid?.())
          await handle.chown(current.uid, current.gid).catch(() => undefined);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
    temporary = undefined;
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw invalid('FILE_UNWRITABLE', `cannot write ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  } finally {
    if (temporary !== undefined) await rm(temporary, { force: true });
  }
}

/** The file `path` leads to through symlinks, also when it does not exist yet. */
async function targetOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
  }
  let current = resolve(path);
  for (let links = 0; links < MAX_LINKS; links++) {
    let next: string;
    try {
      next = await readlink(current);
    } catch (error) {
      // Not a link (EINVAL) or not there (ENOENT): the file to create.
      if (codeOf(error) === 'EINVAL' || codeOf(error) === 'ENOENT') return current;
      throw error;
    }
    current = resolve(dirname(current), next);
  }
  throw new Error(`more than ${MAX_LINKS} symbolic links`);
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}
