/**
 * A disk cache of OCSP responses and CRLs, so a verification need not reach
 * the revocation servers again while their last answer is valid. Like
 * notation-go's CRL file cache (verifier/crl/crl.go `FileCache`), an entry
 * is the raw DER, keyed by a SHA-256 of what was asked, written through a
 * temporary file and a rename so readers see whole entries only. Nothing
 * read back is trusted: the caller verifies it again (signature, validity)
 * as if it had just been downloaded. Each entry records until when it may
 * be used; the directory is kept under a size bound by removing the oldest
 * entries. The cache is best effort: any failure to read or write it is a
 * miss, never an error.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** 64 MiB: two of notation's largest CRLs, and many OCSP responses. */
export const DEFAULT_MAX_CACHE_BYTES = 64 * 1024 * 1024;

const MAGIC = Buffer.from('VRC1');
const HEADER_BYTES = MAGIC.length + 8 + 1;
const ENTRY_NAME = /^[0-9a-f]{64}$/;
const MAX_PARTS = 8;

export class RevocationCache {
  readonly #dir: string;
  readonly #maxBytes: number;

  constructor(dir: string, maxBytes = DEFAULT_MAX_CACHE_BYTES) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
  }

  /** The parts stored under `key`, unless missing, unreadable or expired at `now`. */
  async get(key: string, now: Date): Promise<readonly Uint8Array[] | undefined> {
    const file = this.#file(key);
    try {
      const info = await stat(file);
      if (!info.isFile() || info.size > this.#maxBytes) return undefined;
      const entry = decodeEntry(await readFile(file));
      if (entry === undefined) return undefined;
      if (entry.expires < now.getTime()) {
        await rm(file, { force: true });
        return undefined;
      }
      return entry.parts;
    } catch {
      return undefined;
    }
  }

  /** Stores `parts` under `key`, usable until `expires`; then trims the directory to its bound. */
  async set(key: string, parts: readonly Uint8Array[], expires: Date): Promise<void> {
    const entry = encodeEntry(parts, expires);
    if (entry === undefined || entry.byteLength > this.#maxBytes) return;
    const file = this.#file(key);
    const temporary = `${file}.${randomBytes(8).toString('hex')}.tmp`;
    try {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(entry);
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
      await this.#trim();
    } catch {
      await rm(temporary, { force: true }).catch(() => {});
    }
  }

  #file(key: string): string {
    return join(this.#dir, createHash('sha256').update(key).digest('hex'));
  }

  /** Removes the least recently written entries while the directory is over its bound. */
  async #trim(): Promise<void> {
    const entries: { file: string; size: number; written: number }[] = [];
    for (const name of await readdir(this.#dir)) {
      if (!ENTRY_NAME.test(name)) continue;
      const file = join(this.#dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile() === true) entries.push({ file, size: info.size, written: info.mtimeMs });
    }
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    entries.sort((a, b) => a.written - b.written);
    for (const entry of entries) {
      if (total <= this.#maxBytes) break;
      await rm(entry.file, { force: true });
      total -= entry.size;
    }
  }
}

/** `VRC1`, expiry (ms since the epoch, u64), part count (u8), then each part as u32 length + bytes. */
function encodeEntry(parts: readonly Uint8Array[], expires: Date): Buffer | undefined {
  if (parts.length === 0 || parts.length > MAX_PARTS) return undefined;
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header);
  header.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(expires.getTime()))), MAGIC.length);
  header.writeUInt8(parts.length, MAGIC.length + 8);
  const chunks: Buffer[] = [header];
  for (const part of parts) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(part.byteLength);
    chunks.push(length, Buffer.from(part));
  }
  return Buffer.concat(chunks);
}

function decodeEntry(bytes: Buffer): { expires: number; parts: Uint8Array[] } | undefined {
  if (bytes.byteLength < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    return undefined;
  }
  const expires = Number(bytes.readBigUInt64BE(MAGIC.length));
  const count = bytes.readUInt8(MAGIC.length + 8);
  const parts: Uint8Array[] = [];
  let offset = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.byteLength) return undefined;
    const length = bytes.readUInt32BE(offset);
    offset += 4;
    if (offset + length > bytes.byteLength) return undefined;
    parts.push(new Uint8Array(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  return offset === bytes.byteLength && count > 0 ? { expires, parts } : undefined;
}
