import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rejectsWith } from '../../test/helpers/assertions.ts';
import type { TrustStoreReference } from '../formats/notation/trust-policy.ts';
import {
  MAX_TRUST_STORE_FILE_BYTES,
  MAX_TRUST_STORE_FILES,
  readTrustStore,
  trustStorePath,
} from './trust-store.ts';

// Made by test/fixtures/notation-trust-store/generate.sh.
const FIXTURES = resolve(import.meta.dirname, '../../test/fixtures/notation-trust-store');
const fixture = (name: string) => readFile(join(FIXTURES, name));

describe('readTrustStore', () => {
  let root: string;
  let count = 0;
  /** A fresh config dir with store `type:name` holding `files`. */
  const store = async (
    files: Record<string, Uint8Array | string>,
    reference: TrustStoreReference = { type: 'ca', name: 'e2e' },
  ) => {
    const configDir = join(root, `config-${count++}`);
    const dir = trustStorePath(configDir, reference);
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    return { configDir, dir, reference };
  };
  const subjects = (certificates: readonly { certificate: X509Certificate }[]) =>
    certificates.map(({ certificate }) => certificate.subject.split('\n').at(-1));

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vouch-notation-store-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads {config}/truststore/x509/{type}/{name}/ in file name order, whatever the extensions', async () => {
    const { configDir, dir, reference } = await store({
      'b.pem': await fixture('intermediate-ca.pem'),
      'a.der': await fixture('root-ca.cer'),
      'c-no-extension': await fixture('self-signed-leaf.pem'),
    });
    assert.equal(dir, join(configDir, 'truststore', 'x509', 'ca', 'e2e'));
    assert.deepEqual(subjects(await readTrustStore(configDir, reference)), [
      'CN=Test Root',
      'CN=Test Intermediate',
      'CN=Self Signed',
    ]);
  });

  it('checks certificates for the store type, naming store and file', async () => {
    const { configDir, dir, reference } = await store(
      { 'leaf.pem': await fixture('self-signed-leaf.pem') },
      { type: 'tsa', name: 'ts' },
    );
    const error = await rejectsWith(
      readTrustStore(configDir, reference),
      'NOTATION_TRUST_STORE_INVALID',
      'invalid',
    );
    assert.ok(error.message.includes('trust store "ts" of type "tsa"'), error.message);
    assert.ok(error.message.includes(join(dir, 'leaf.pem')), error.message);
    assert.ok(error.message.includes('is not a root CA certificate'), error.message);
  });

  it('says when the store does not exist or holds nothing', async () => {
    const { configDir } = await store({});
    const missing = await rejectsWith(
      readTrustStore(configDir, { type: 'ca', name: 'invalid_store' }),
      'NOTATION_TRUST_STORE_NOT_FOUND',
      'invalid',
    );
    assert.match(missing.message, /the trust store "invalid_store" of type "ca" does not exist/);
    const empty = await rejectsWith(
      readTrustStore(configDir, { type: 'ca', name: 'e2e' }),
      'NOTATION_TRUST_STORE_INVALID',
    );
    assert.match(empty.message, /no x509 certificates were found/);
  });

  it('refuses names that are no store', async () => {
    const { configDir } = await store({ 'root.pem': await fixture('root-ca.pem') });
    for (const name of ['.', '..', 'a/b', '', '../ca/e2e']) {
      await rejectsWith(
        readTrustStore(configDir, { type: 'ca', name }),
        'NOTATION_TRUST_STORE_INVALID',
      );
    }
  });

  it('refuses a store that is a symbolic link or not a directory', async () => {
    const { configDir, dir } = await store({ 'root.pem': await fixture('root-ca.pem') });
    await symlink(dir, join(dir, '..', 'linked'));
    const linked = await rejectsWith(
      readTrustStore(configDir, { type: 'ca', name: 'linked' }),
      'NOTATION_TRUST_STORE_INVALID',
    );
    assert.match(linked.message, /is not a regular directory/);
    await writeFile(join(dir, '..', 'file'), await fixture('root-ca.pem'));
    await rejectsWith(
      readTrustStore(configDir, { type: 'ca', name: 'file' }),
      'NOTATION_TRUST_STORE_INVALID',
    );
  });

  it('refuses a symbolic link among the certificates, even to a good one', async () => {
    const { configDir, reference, dir } = await store({ 'root.pem': await fixture('root-ca.pem') });
    await symlink(join(dir, 'root.pem'), join(dir, 'link.pem'));
    const error = await rejectsWith(
      readTrustStore(configDir, reference),
      'NOTATION_TRUST_STORE_INVALID',
    );
    assert.match(
      error.message,
      /"link.pem" is not a regular file \(directories or symbolic links are not supported\)/,
    );
  });

  it('refuses a subdirectory, as notation-go does (the spec would ignore it)', async () => {
    const { configDir, reference, dir } = await store({ 'root.pem': await fixture('root-ca.pem') });
    await mkdir(join(dir, 'sub'));
    const error = await rejectsWith(
      readTrustStore(configDir, reference),
      'NOTATION_TRUST_STORE_INVALID',
    );
    assert.match(error.message, /"sub" is not a regular file/);
  });

  it('refuses a FIFO without waiting on it', async () => {
    const { configDir, reference, dir } = await store({ 'root.pem': await fixture('root-ca.pem') });
    execFileSync('mkfifo', [join(dir, 'pipe.pem')]);
    const error = await rejectsWith(
      readTrustStore(configDir, reference),
      'NOTATION_TRUST_STORE_INVALID',
    );
    assert.match(error.message, /"pipe.pem" is not a regular file/);
  });

  it('refuses garbage and caps files and their sizes', async () => {
    const garbage = await store({ 'junk.cer': new Uint8Array([0x30, 0x82, 0xff, 0xff, 1, 2, 3]) });
    await rejectsWith(
      readTrustStore(garbage.configDir, garbage.reference),
      'NOTATION_TRUST_STORE_INVALID',
    );
    const big = await store({ 'big.pem': ' '.repeat(MAX_TRUST_STORE_FILE_BYTES + 1) });
    const large = await rejectsWith(
      readTrustStore(big.configDir, big.reference),
      'NOTATION_TRUST_STORE_INVALID',
    );
    assert.match(large.message, /at most 1048576 are accepted/);
    const root = await fixture('root-ca.pem');
    const files = Object.fromEntries(
      Array.from({ length: MAX_TRUST_STORE_FILES + 1 }, (_, i) => [`${i}.pem`, root]),
    );
    const many = await store(files);
    const error = await rejectsWith(
      readTrustStore(many.configDir, many.reference),
      'NOTATION_TRUST_STORE_INVALID',
    );
    assert.match(error.message, /holds more than 256 entries/);
    const fewer = await store(
      Object.fromEntries(Object.entries(files).slice(0, MAX_TRUST_STORE_FILES)),
    );
    assert.equal(
      (await readTrustStore(fewer.configDir, fewer.reference)).length,
      MAX_TRUST_STORE_FILES,
    );
  });
});
