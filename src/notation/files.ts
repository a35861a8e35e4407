/**
 * Reading notation's configuration files the way notation-go does — never
 * through a symbolic link (`os.Lstat` then refuse, `verifier/trustpolicy/trustpolicy.go`
 * `getDocument`, `verifier/truststore/truststore.go`) — and with a size cap.
 * The file is opened with O_NOFOLLOW, so a link swapped in after a check is
 * not followed either, and O_NONBLOCK, so a FIFO planted in its place cannot
 * hang the read; what was opened must be a regular file.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { isVouchError, messageOf, type VouchError } from '../core/errors.ts';

export type FileFailure = (problem: string, cause?: unknown) => VouchError;

/**
 * The bytes of the regular file at `path`, or undefined when nothing is
 * there. Refuses through `fail` a symbolic link (unless `followLinks`: a
 * file the user named), anything but a regular file, a file over
 * `maxBytes`, and a file that cannot be read.
 */
export async function readRegularFile(
  path: string,
  maxBytes: number,
  fail: FileFailure,
  options: { readonly followLinks?: boolean } = {},
): Promise<Uint8Array | undefined> {
  const noFollow = options.followLinks === true ? 0 : constants.O_NOFOLLOW;
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | noFollow | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP' && noFollow !== 0) {
      throw fail('is a symbolic link; notation does not follow symbolic links');
    }
    throw fail(`cannot be read: ${messageOf(error)}`, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw fail('is not a regular file');
    if (stats.size > maxBytes) {
      throw fail(`is ${stats.size} bytes; at most ${maxBytes} are accepted`);
    }
    // One byte more than fstat said, to notice a file that grew meanwhile.
    const buffer = new Uint8Array(stats.size + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > stats.size) throw fail('changed while it was being read');
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw fail(`cannot be read: ${messageOf(error)}`, error);
  } finally {
    await handle.close();
  }
}
