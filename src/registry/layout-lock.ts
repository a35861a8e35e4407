/**
 * Serialises index.json updates of an OCI image layout: an in-process mutex
 * per layout directory, then a cross-process lock file (`index.json.lock`,
 * created exclusively, holding the owner's pid). A lock whose owner is gone
 * is detected as stale and broken, so a crashed writer does not block the
 * layout for good.
 */
import { type FileHandle, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { invalid, unavailable } from '../core/errors.ts';
import { errorCode, ioError } from './layout-files.ts';

/** A lock file without a readable pid is abandoned once it is this old. */
const UNREADABLE_LOCK_STALE_MS = 2000;

/**
 * Runs `task` holding the index.json lock of the layout at `root` (an
 * absolute path), waiting up to `timeoutMs` for another process's lock;
 * `where` names the layout in errors.
 */
export async function withLayoutLock<T>(
  root: string,
  timeoutMs: number,
  where: string,
  task: () => Promise<T>,
): Promise<T> {
  return withMutex(root, async () => {
    const release = await acquireLockFile(join(root, 'index.json.lock'), timeoutMs, where);
    try {
      return await task();
    } finally {
      await release();
    }
  });
}

const mutexTails = new Map<string, Promise<void>>();

/** Runs `task` after every earlier task queued under `key` in this process has settled. */
async function withMutex<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = mutexTails.get(key) ?? Promise.resolve();
  let release = () => {};
  const current = new Promise<void>((done) => {
    release = done;
  });
  const tail = previous.then(() => current);
  mutexTails.set(key, tail);
  await previous;
  try {
    return await task();
  } finally {
    release();
    if (mutexTails.get(key) === tail) mutexTails.delete(key);
  }
}

/**
 * Takes `lockFile` by creating it exclusively with this process's pid,
 * retrying with backoff for up to `timeoutMs`. A lock whose pid is not alive
 * (or that never got a pid and is old) is stale and is broken, under a
 * short-lived `.steal` lock so two processes cannot both break it and one
 * then delete the other's fresh lock. Returns the release function.
 */
async function acquireLockFile(
  lockFile: string,
  timeoutMs: number,
  where: string,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    let handle: FileHandle | undefined;
    try {
      handle = await open(lockFile, 'wx', 0o644);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw invalid('LAYOUT_NOT_FOUND', `${where}: no OCI image layout at ${dirname(lockFile)}`);
      }
      if (code !== 'EEXIST') throw ioError(`${where}: cannot create ${lockFile}`, error);
    }
    if (handle !== undefined) {
      try {
        await handle.writeFile(`${process.pid}\n`);
      } catch (error) {
        await handle.close().catch(() => {});
        await rm(lockFile, { force: true });
        throw ioError(`${where}: cannot write ${lockFile}`, error);
      }
      await handle.close();
      return async () => {
        await rm(lockFile, { force: true });
      };
    }
    if (await breakStaleLock(lockFile)) continue;
    if (Date.now() >= deadline) {
      const holder = await readLockHolder(lockFile);
      const by = holder?.pid === undefined ? '' : ` by process ${holder.pid}`;
      throw unavailable(
        'LAYOUT_LOCKED',
        `${where}: index.json is locked${by} (${lockFile}); gave up after ${timeoutMs} ms`,
      );
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 100);
  }
}

interface LockHolder {
  readonly pid: number | undefined;
  readonly ageMs: number;
}

async function readLockHolder(lockFile: string): Promise<LockHolder | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(lockFile, 'utf8'), stat(lockFile)]);
    const pid = /^\d{1,10}\n?$/.test(text) ? Number.parseInt(text, 10) : undefined;
    return {
      pid: pid !== undefined && pid > 0 ? pid : undefined,
      ageMs: Date.now() - info.mtimeMs,
    };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function isStale(holder: LockHolder): boolean {
  return holder.pid === undefined ? holder.ageMs > UNREADABLE_LOCK_STALE_MS : !isAlive(holder.pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

/** Removes the lock if it is stale; returns whether the caller should retry at once. */
async function breakStaleLock(lockFile: string): Promise<boolean> {
  const holder = await readLockHolder(lockFile);
  if (holder === undefined) return true;
  if (!isStale(holder)) return false;
  const stealFile = `${lockFile}.steal`;
  let handle: FileHandle;
  try {
    handle = await open(stealFile, 'wx', 0o644);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    // A breaker that died mid-break leaves its steal lock behind; it is held for moments only.
    const info = await stat(stealFile).catch(() => undefined);
    if (info !== undefined && Date.now() - info.mtimeMs > UNREADABLE_LOCK_STALE_MS)
      await rm(stealFile, { force: true });
    return false;
  }
  try {
    const again = await readLockHolder(lockFile);
    if (again !== undefined && again.pid === holder.pid && isStale(again))
      await rm(lockFile, { force: true });
    return true;
  } finally {
    await handle.close();
    await rm(stealFile, { force: true });
  }
}
