/**
 * notation's X.509 trust stores: the certificates of the named store
 * `{NOTATION_CONFIG}/truststore/x509/{ca|signingAuthority|tsa}/{name}/`, read
 * as notation-go `verifier/truststore/truststore.go` `GetCertificates` reads
 * them. The store must be a directory, not a symbolic link; every entry in it
 * is a certificate file whatever its name (notation reads `GlobalSign.der`
 * as readily as `root.pem`), and a subdirectory or a symbolic link among them
 * fails the store. The spec says subdirectories are ignored and only `.pem`,
 * `.crt` and `.cer` files read; vouch does what notation's code does.
 * Each file's certificates are checked by formats/notation/trust-store-certificates.ts.
 * The number of entries and the size of each file and of the whole store
 * are capped.
 *
 * https://github.com/notaryproject/notation-go/blob/main/verifier/truststore/truststore.go
 * https://github.com/notaryproject/specifications/blob/main/specs/trust-store-trust-policy.md#trust-store
 */
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid, isVouchError, messageOf, type VouchError } from '../core/errors.ts';
import type { TrustStoreReference } from '../formats/notation/trust-policy.ts';
import {
  parseTrustStoreCertificates,
  type TrustedCertificate,
} from '../formats/notation/trust-store-certificates.ts';
import type {} from './error-codes.ts';
import { readRegularFile } from './files.ts';

/** Entries in one named store. */
export const MAX_TRUST_STORE_FILES = 256;
/** Bytes in one certificate file: a CA bundle is a few hundred kilobytes. */
export const MAX_TRUST_STORE_FILE_BYTES = 1024 * 1024;
/** Bytes in all the files of one named store. */
export const MAX_TRUST_STORE_BYTES = 16 * 1024 * 1024;

// internal/file/file.go IsValidFileName; "." and ".." pass it but name no store.
const STORE_NAME = /^[a-zA-Z0-9_.-]+$/;

/** `{configDir}/truststore`, where notation keeps its trust stores (dir/path.go `TrustStoreDir`). */
export function trustStoreDir(configDir: string): string {
  return join(configDir, 'truststore');
}

/** `{configDir}/truststore/x509/{type}/{name}` (dir/path.go `X509TrustStoreDir`). */
export function trustStorePath(configDir: string, store: TrustStoreReference): string {
  return storePath(trustStoreDir(configDir), store);
}

function storePath(root: string, store: TrustStoreReference): string {
  return join(root, 'x509', store.type, store.name);
}

/**
 * The certificates of `store` under `configDir`, in file name order. Throws
 * `invalid` NOTATION_TRUST_STORE_NOT_FOUND when the store does not exist,
 * NOTATION_TRUST_STORE_INVALID when notation would refuse it or it is over
 * the caps; messages name the store and the path.
 */
export async function readTrustStore(
  configDir: string,
  store: TrustStoreReference,
): Promise<readonly TrustedCertificate[]> {
  return readTrustStoreIn(trustStoreDir(configDir), store);
}

/**
 * `readTrustStore` with the trust store directory given itself (the one
 * holding `x509/`, `{NOTATION_CONFIG}/truststore` by default).
 */
export async function readTrustStoreIn(
  root: string,
  store: TrustStoreReference,
): Promise<readonly TrustedCertificate[]> {
  const files = await readTrustStoreFilesIn(root, store);
  return Object.freeze(files.flatMap((file) => file.certificates));
}

/** One certificate file of a trust store: where it is, its bytes and the certificates it holds. */
export interface TrustStoreFile {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly certificates: readonly TrustedCertificate[];
}

/**
 * `readTrustStoreIn`, file by file (for tools that name the files, such as
 * `vouch policy import`); the same checks, caps and errors.
 */
export async function readTrustStoreFilesIn(
  root: string,
  store: TrustStoreReference,
): Promise<readonly TrustStoreFile[]> {
  const label = `trust store "${store.name}" of type "${store.type}"`;
  if (!STORE_NAME.test(store.name) || store.name === '.' || store.name === '..') {
    throw invalid(
      'NOTATION_TRUST_STORE_INVALID',
      `${label}: a trust store name follows [a-zA-Z0-9_.-]+ and is neither "." nor ".."`,
    );
  }
  const dir = storePath(root, store);
  const fail = (problem: string, cause?: unknown): VouchError =>
    invalid(
      'NOTATION_TRUST_STORE_INVALID',
      `${label} (${dir}): ${problem}`,
      cause === undefined ? undefined : { cause },
    );
  let stats;
  try {
    stats = await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw invalid('NOTATION_TRUST_STORE_NOT_FOUND', `the ${label} does not exist (${dir})`);
    }
    throw fail(`cannot be accessed: ${messageOf(error)}`, error);
  }
  if (!stats.isDirectory()) {
    throw fail('is not a regular directory (symbolic links are not supported)');
  }
  const files: TrustStoreFile[] = [];
  let total = 0;
  for (const entry of await listEntries(dir, fail)) {
    const path = join(dir, entry.name);
    const file = `trusted certificate ${JSON.stringify(entry.name)}`;
    if (entry.isDirectory() || entry.isSymbolicLink()) {
      throw fail(`${file} is not a regular file (directories or symbolic links are not supported)`);
    }
    const bytes = await readRegularFile(path, MAX_TRUST_STORE_FILE_BYTES, (problem, cause) =>
      fail(`${file} ${problem}`, cause),
    );
    if (bytes === undefined) throw fail(`${file} disappeared while the store was read`);
    total += bytes.length;
    if (total > MAX_TRUST_STORE_BYTES) {
      throw fail(`its files hold more than ${MAX_TRUST_STORE_BYTES} bytes`);
    }
    const certificates = parseTrustStoreCertificates(
      store.type,
      bytes,
      `${label}: ${file} (${path})`,
    );
    files.push(Object.freeze({ path, bytes, certificates }));
  }
  if (files.every((file) => file.certificates.length === 0)) {
    throw fail('no x509 certificates were found');
  }
  return Object.freeze(files);
}

/** The entries of `dir` sorted by name (Go's os.ReadDir), at most MAX_TRUST_STORE_FILES. */
async function listEntries(dir: string, fail: (problem: string, cause?: unknown) => VouchError) {
  const entries = [];
  try {
    for await (const entry of await opendir(dir)) {
      entries.push(entry);
      if (entries.length > MAX_TRUST_STORE_FILES) {
        throw fail(`holds more than ${MAX_TRUST_STORE_FILES} entries`);
      }
    }
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw fail(`cannot be listed: ${messageOf(error)}`, error);
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
