/**
 * Private keys for Docker Content Trust, in notary's key directory layout
 * (docs/formats.md "Key IDs and key files"): `<dir>/private/<canonical key ID>.key`, each an
 * encrypted PEM with `role:` and `gun:` headers (formats/notary/key-file.ts),
 * files 0600 in a 0700 directory (notary const.go `PrivNoExecPerms`,
 * `PrivExecPerms`). New keys go to the first directory (vouch's trust
 * directory); keys are looked up in every directory, so keys docker or the
 * notary CLI made (`~/.docker/trust/private`) keep working.
 *
 * Passphrases come from the caller (the CLI reads environment variables or
 * asks), only when a key is actually decrypted or written.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid, messageOf, unavailable } from '../core/errors.ts';
import { canonicalIdOfPublicKey } from '../formats/notary/keys.ts';
import {
  decodeNotaryPrivateKey,
  encodeNotaryPrivateKey,
  type KeyFileHeaders,
  readNotaryKeyFile,
} from '../formats/notary/key-file.ts';
import { writeFileSafely } from '../keys/files.ts';

const MAX_KEY_FILE_BYTES = 64 * 1024;
const KEY_FILE = /^([0-9a-f]{64})\.key$/;

export interface PassphraseRequest {
  /** The key's role header: `root`, `targets`, `snapshot`, or a signer's name. */
  readonly role: string;
  readonly keyId: string;
  /** The file, for prompts and errors. */
  readonly source: string;
  /** The passphrase is for a key being written (ask twice at a terminal). */
  readonly creating: boolean;
}

export type PassphraseSource = (request: PassphraseRequest) => Promise<string>;

export interface StoredKey {
  /** Canonical key ID (the plain key's TUF ID), as notary names the file. */
  readonly id: string;
  readonly role: string;
  readonly gun?: string;
  readonly path: string;
}

export interface NotaryKeyStoreOptions {
  /** Trust directories (their `private/` subdirectory holds keys); keys are written to the first. */
  readonly dirs: readonly string[];
  readonly passphrase: PassphraseSource;
}

export class NotaryKeyStore {
  readonly #dirs: readonly string[];
  readonly #passphrase: PassphraseSource;
  readonly #decrypted = new Map<string, KeyObject>();

  constructor(options: NotaryKeyStoreOptions) {
    if (options.dirs.length === 0) throw new TypeError('NotaryKeyStore needs a directory');
    this.#dirs = options.dirs;
    this.#passphrase = options.passphrase;
  }

  /** Every key file in every directory (by headers only: nothing is decrypted); the first of an ID wins. */
  async list(): Promise<StoredKey[]> {
    const keys = new Map<string, StoredKey>();
    for (const dir of this.#dirs) {
      const privateDir = join(dir, 'private');
      let names: string[];
      try {
        names = await readdir(privateDir);
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') continue;
        throw unavailable('TRUST_STORE_IO_ERROR', `cannot list ${privateDir}: ${messageOf(error)}`);
      }
      for (const name of names.sort()) {
        const id = KEY_FILE.exec(name)?.[1];
        if (id === undefined || keys.has(id)) continue;
        const path = join(privateDir, name);
        const headers = readNotaryKeyFile(await readKeyText(path), path).headers;
        keys.set(id, {
          id,
          role: headers.role ?? '',
          ...(headers.gun === undefined ? {} : { gun: headers.gun }),
          path,
        });
      }
    }
    return [...keys.values()];
  }

  /** Which of `ids` (canonical key IDs) this store holds. */
  async holds(ids: Iterable<string>): Promise<string[]> {
    const held = new Set((await this.list()).map((key) => key.id));
    return [...ids].filter((id) => held.has(id));
  }

  /** The private key with canonical ID `id`, decrypted; undefined when no directory holds it. */
  async privateKey(id: string): Promise<KeyObject | undefined> {
    const cached = this.#decrypted.get(id);
    if (cached !== undefined) return cached;
    const stored = (await this.list()).find((key) => key.id === id);
    if (stored === undefined) return undefined;
    const file = readNotaryKeyFile(await readKeyText(stored.path), stored.path);
    const key = await decodeNotaryPrivateKey(file, stored.path, () =>
      this.#passphrase({ role: stored.role, keyId: id, source: stored.path, creating: false }),
    );
    // The file name is the key's ID; a file filed under another ID would sign as the wrong key.
    if (canonicalIdOfPublicKey(createPublicKey(key)) !== id) {
      throw invalid('NOTARY_KEY_INVALID', `${stored.path} holds a key whose ID is not ${id}`);
    }
    this.#decrypted.set(id, key);
    return key;
  }

  /** Stores `privateKey` encrypted, as `<first dir>/private/<id>.key`; returns its canonical ID. */
  async add(privateKey: KeyObject, headers: KeyFileHeaders): Promise<string> {
    const id = canonicalIdOfPublicKey(createPublicKey(privateKey));
    if (id === undefined)
      throw invalid('NOTARY_KEY_INVALID', 'only ECDSA, RSA and Ed25519 keys can be stored');
    const privateDir = join(this.#dirs[0] as string, 'private');
    const path = join(privateDir, `${id}.key`);
    const passphrase = await this.#passphrase({
      role: headers.role,
      keyId: id,
      source: path,
      creating: true,
    });
    try {
      await mkdir(privateDir, { recursive: true, mode: 0o700 });
      await chmod(privateDir, 0o700);
    } catch (error) {
      throw unavailable('TRUST_STORE_IO_ERROR', `cannot create ${privateDir}: ${messageOf(error)}`);
    }
    await writeFileSafely(path, encodeNotaryPrivateKey(privateKey, headers, passphrase), {
      mode: 0o600,
      replace: true,
    });
    this.#decrypted.set(id, privateKey);
    return id;
  }
}

async function readKeyText(path: string): Promise<string> {
  try {
    const info = await stat(path);
    if (info.size > MAX_KEY_FILE_BYTES) {
      throw invalid('MALFORMED_PEM', `${path} is ${info.size} bytes, too large for a key file`);
    }
    return await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'category' in error) throw error;
    throw unavailable('TRUST_STORE_IO_ERROR', `cannot read ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
}
