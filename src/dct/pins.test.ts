import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { rootKey } from '../../test/helpers/notary-metadata.ts';
import { pinnedKeyIds } from './pins.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const publicPem = (key: ReturnType<typeof rootKey>) =>
  key.publicKey.export({ format: 'pem', type: 'spki' }).toString();

describe('pinnedKeyIds', () => {
  it('gives a root certificate and its public key the same canonical ID', () => {
    const root = rootKey({ commonName: 'registry.example.com/app' });
    const [fromCertificate] = pinnedKeyIds(bytes(root.certificatePem), 'cert.pem');
    const [fromKey] = pinnedKeyIds(bytes(publicPem(root)), 'key.pem');
    assert.match(fromCertificate ?? '', /^[0-9a-f]{64}$/);
    assert.equal(fromKey, fromCertificate);
    assert.notEqual(fromCertificate, root.id, 'not the TUF ID of the certificate bytes');
  });

  it('reads every block, and drops the role:/gun: headers docker and notary write', () => {
    const a = rootKey({ commonName: 'a' });
    const b = rootKey({ commonName: 'b' });
    const withHeaders = publicPem(b).replace(
      /^(-----BEGIN PUBLIC KEY-----\n)/,
      '$1role: root\ngun: registry.example.com/app\n\n',
    );
    const ids = pinnedKeyIds(bytes(a.certificatePem + withHeaders), 'pins.pem');
    assert.deepEqual(ids, [
      pinnedKeyIds(bytes(a.certificatePem), 'a')[0],
      pinnedKeyIds(bytes(publicPem(b)), 'b')[0],
    ]);
  });

  it('refuses junk and keys it cannot pin as NOTARY_ROOT_KEY_INVALID, and text without PEM as invalid', () => {
    const junk = `-----BEGIN CERTIFICATE-----\n${Buffer.from('not a certificate').toString('base64')}\n-----END CERTIFICATE-----\n`;
    assert.throws(
      () => pinnedKeyIds(bytes(junk), 'junk.pem'),
      expectError('invalid', 'NOTARY_ROOT_KEY_INVALID', 'junk.pem'),
    );
    assert.throws(
      () => pinnedKeyIds(bytes('hello\n'), 'empty.pem'),
      (error: unknown) => (error as { category?: string }).category === 'invalid',
    );
    const dsa = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
    assert.throws(
      () =>
        pinnedKeyIds(
          bytes(dsa.publicKey.export({ format: 'pem', type: 'spki' }).toString()),
          'dsa.pem',
        ),
      expectError('invalid', 'NOTARY_ROOT_KEY_INVALID', 'not a pinnable'),
    );
  });
});
