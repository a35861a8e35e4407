/**
 * File I/O for an OCI image layout: whole-file reads capped before anything is
 * read, and writes that go to a uniquely named temporary file, are synced and
 * only then appear under their final name, so nothing half-written is ever
 * visible there. File-system failures become `LAYOUT_IO_ERROR`.
 */
import { randomBytes } from 'node:crypto';
import { constants, createReadStream, type Stats } from 'node:fs';
import { type FileHandle, link, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { denied, isVouchError, messageOf, unavailable } from '../core/errors.ts';

/**
 * Reads a regular file whole, refusing (before reading) one larger than
 * `max`. O_NONBLOCK keeps a FIFO planted in the layout from blocking the open.
 */
export async function readCapped(
  file: string,
  max: number,
  tooLarge: (size: number) => Error,
  missing: () => Error,
  where: string,
): Promise<Uint8Array> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') throw missing();
    throw ioError(`${where}: cannot open ${file}`, error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw denied('LAYOUT_INVALID', `${where}: ${file} is not a regular file`);
    if (info.size > max) throw tooLarge(info.size);
    const buffer = Buffer.alloc(info.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.byteLength) throw tooLarge(length); // the file grew while being read
      const { bytesRead } = await handle.read(buffer, length, buffer.byteLength - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > max) throw tooLarge(length);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
  } catch (error) {
    throw ioError(`${where}: cannot read ${file}`, error);
  } finally {
    await handle.close();
  }
}

/** A regular file's stats, or undefined when there is no file. */
export async function statFile(file: string, where: string): Promise<Stats | undefined> {
  let info: Stats;
  try {
    info = await stat(file);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw ioError(`${where}: cannot read ${file}`, error);
  }
  if (!info.isFile()) throw denied('LAYOUT_INVALID', `${where}: ${file} is not a regular file`);
  return info;
}

/** The file's chunks; nothing is opened until the first chunk is asked for. */
export async function* readChunks(file: string): AsyncGenerator<Uint8Array> {
  for await (const chunk of createReadStream(file)) yield chunk as Buffer;
}

export async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

async function writeSynced(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(file, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Atomically creates `file` unless it exists; returns whether it was created. */
export async function writeNewFile(
  file: string,
  data: Uint8Array | string,
  where: string,
): Promise<boolean> {
  const temp = `${file}.${randomBytes(12).toString('hex')}.tmp`;
  try {
    await writeSynced(temp, data);
    try {
      await link(temp, file);
      return true;
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      // Filesystems without hard links: fall back to an exclusive create.
      try {
        await writeFile(file, data, { flag: 'wx', mode: 0o644 });
        return true;
      } catch (fallbackError) {
        if (errorCode(fallbackError) === 'EEXIST') return false;
        throw fallbackError;
      }
    }
  } catch (error) {
    throw ioError(`${where}: cannot create ${file}`, error);
  } finally {
    await rm(temp, { force: true });
  }
}

/** Atomically replaces `file` (or creates it) through a hidden temporary file beside it. */
export async function replaceFile(
  file: string,
  data: Uint8Array | string,
  where: string,
): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(12).toString('hex')}.tmp`);
  try {
    await writeSynced(temp, data);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw ioError(`${where}: cannot write ${file}`, error);
  }
}

/** The `code` of a Node.js system error (`ENOENT`, `EEXIST`, ...). */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string'
    ? error.code
    : undefined;
}

/** Passes vouch's own errors through; wraps file-system failures as `unavailable`. */
export function ioError(message: string, error: unknown): Error {
  if (isVouchError(error)) return error;
  return unavailable('LAYOUT_IO_ERROR', `${message}: ${messageOf(error)}`, { cause: error });
}
