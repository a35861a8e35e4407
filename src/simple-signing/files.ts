/**
 * Whole-file reads for the files simple signing reads (registries.d files,
 * file:// lookaside signatures), as containers/image reads them with
 * `os.ReadFile` — symbolic links followed, a missing file told apart — but
 * capped before anything is read, and never blocking: O_NONBLOCK keeps a
 * FIFO in the file's place from hanging the open, and only a regular file
 * is read.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { isVouchError, messageOf, type VouchError } from '../core/errors.ts';

export interface CappedReadFailures {
  /** The file is larger than the cap (`size` as fstat said, or as read when it grew). */
  readonly tooLarge: (size: number) => VouchError;
  /** It cannot be opened or read, or is not a regular file. */
  readonly unreadable: (problem: string, cause?: unknown) => VouchError;
}

/** The bytes of the file at `path`, or undefined when there is none (ENOENT). */
export async function readFileCapped(
  path: string,
  maxBytes: number,
  failures: CappedReadFailures,
): Promise<Uint8Array | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    // Only ENOENT is "missing", as Go's os.IsNotExist: ENOTDIR is an error there too.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw failures.unreadable(`cannot be opened: ${messageOf(error)}`, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw failures.unreadable('is not a regular file');
    if (stats.size > maxBytes) throw failures.tooLarge(stats.size);
    // One byte more than fstat said, to notice a file that grew meanwhile.
    const buffer = new Uint8Array(stats.size + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > stats.size) throw failures.unreadable('changed while it was being read');
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw failures.unreadable(`cannot be read: ${messageOf(error)}`, error);
  } finally {
    await handle.close();
  }
}
