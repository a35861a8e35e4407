import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import { ecdsaKey, keyJson, rootKey, signMetadata } from '../../../test/helpers/notary-metadata.ts';
import { notaryCanonicalJson } from './canonical-json.ts';
import { canonicalKeyId, notaryKey, notaryKeyId, verifyNotarySignature } from './keys.ts';
import { parseMetadata } from './metadata.ts';
import { parseGoTime } from './time.ts';

const fixture = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../../../test/fixtures/notary/${name}`, import.meta.url)));
const invalidMetadata = (text?: string) => expectError('denied', 'NOTARY_METADATA_INVALID', text);
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('notaryCanonicalJson', () => {
  it('sorts keys by their UTF-8 bytes and writes no whitespace', () => {
    assert.equal(
      notaryCanonicalJson({ b: [1, { z: null, a: true }], a: 'x', '\uFF61': 1, '\u{1F600}': 2 }),
      '{"a":"x","b":[1,{"a":true,"z":null}],"\uFF61":1,"\u{1F600}":2}',
    );
  });

  it('escapes only quote and backslash, as docker/go canonical json does', () => {
    assert.equal(notaryCanonicalJson('a"b\\c\n<&>\u2028é'), '"a\\"b\\\\c\n<&>\u2028é"');
  });

  it('refuses numbers that are not integers', () => {
    assert.throws(() => notaryCanonicalJson({ version: 1.5 }), invalidMetadata('1.5'));
  });
});

describe('parseGoTime', () => {
  it('reads RFC 3339 with up to nine fractional digits and offsets', () => {
    assert.equal(
      parseGoTime('2036-11-19T01:49:28.306307292Z'),
      Date.UTC(2036, 10, 19, 1, 49, 28, 306),
    );
    assert.equal(parseGoTime('2029-01-01T00:00:00Z'), Date.UTC(2029, 0, 1));
    assert.equal(parseGoTime('2029-01-01T02:30:00.5+02:30'), Date.UTC(2029, 0, 1, 0, 0, 0, 500));
    assert.equal(parseGoTime('2028-02-29T00:00:00-01:00'), Date.UTC(2028, 1, 29, 1));
  });

  for (const text of [
    '2029-01-01T00:00:00',
    '2029-01-01 00:00:00Z',
    '2029-01-01T00:00:00.1234567890Z',
    '2029-13-01T00:00:00Z',
    '2027-02-29T00:00:00Z',
    '2029-01-01T24:00:00Z',
    '2029-01-01T00:00:00+24:00',
  ]) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseGoTime(text), undefined));
  }
});

describe('parseMetadata on what notary 0.7.0 served', () => {
  it('reads every role and computes key IDs as notary does', () => {
    const root = parseMetadata(fixture('1.root.json'), 'Root', '1.root.json');
    assert.equal(root.signed.version, 1);
    assert.equal(root.signed.consistentSnapshot, false);
    const rootKeyId = root.signed.roles.root.keyIds[0] ?? '';
    const key = root.signed.keys.get(rootKeyId);
    assert.equal(key?.type, 'ecdsa-x509');
    // The private key file notary wrote is named by the canonical ID.
    assert.equal(
      canonicalKeyId(key),
      '33a88abdbb3900471f7c1d70f82e6a952a134ef1236b089016f2d687b9a4ca28',
    );
    const signature = root.signatures[0];
    assert.ok(signature !== undefined);
    assert.equal(
      verifyNotarySignature(key, signature.method, root.message, signature.signature),
      true,
    );

    const targets = parseMetadata(fixture('targets.json'), 'Targets', 'targets');
    assert.equal(targets.signed.targets.get('v1')?.length, 528);
    assert.deepEqual(targets.signed.delegations, []);
    assert.equal(
      parseMetadata(fixture('snapshot.json'), 'Snapshot', 'snapshot').signed.meta.size,
      2,
    );
    const timestamp = parseMetadata(fixture('timestamp.json'), 'Timestamp', 'timestamp.json');
    assert.equal(timestamp.signatures[0]?.method, 'eddsa');
    assert.equal(timestamp.signed.snapshot.length, fixture('snapshot.json').length);
  });
});

describe('parseMetadata refuses', () => {
  const targetsKey = ecdsaKey();
  const targets = (signed: Record<string, unknown>) =>
    bytes({
      signed: {
        _type: 'Targets',
        delegations: { keys: {}, roles: [] },
        expires: '2030-01-01T00:00:00Z',
        targets: {},
        version: 1,
        ...signed,
      },
      signatures: [],
    });

  for (const [label, document, text] of [
    ['TUF 1.0 lowercase _type', targets({ _type: 'targets' }), '"targets", expected "Targets"'],
    ['a TUF 1.0 spec_version', targets({ spec_version: '1.0.0' }), 'unknown key "spec_version"'],
    ['a case variant of a field', targets({ Version: 2 }), 'case variant'],
    ['a missing field', targets({ delegations: undefined }), 'missing "delegations"'],
    [
      'a hex hash',
      targets({ targets: { v1: { hashes: { sha256: 'ab'.repeat(32) }, length: 1 } } }),
      'not a base64 sha256',
    ],
    [
      'a negative length',
      targets({
        targets: { v1: { hashes: { sha256: Buffer.alloc(32).toString('base64') }, length: -1 } },
      }),
      'length',
    ],
    [
      'an expiry without a zone',
      targets({ expires: '2030-01-01T00:00:00' }),
      'not an RFC 3339 time',
    ],
    ['a fractional version', targets({ version: 1.5 }), 'signed.version'],
    [
      'a key filed under another ID',
      targets({ delegations: { keys: { ['0'.repeat(64)]: keyJson(targetsKey) }, roles: [] } }),
      'not its own',
    ],
    [
      'a delegation naming a key it does not carry',
      targets({
        delegations: {
          keys: {},
          roles: [{ keyids: [targetsKey.id], name: 'targets/releases', threshold: 1 }],
        },
      }),
      'not among the keys',
    ],
    [
      'a threshold of 0',
      targets({
        delegations: {
          keys: { [targetsKey.id]: keyJson(targetsKey) },
          roles: [{ keyids: [targetsKey.id], name: 'targets/releases', threshold: 0 }],
        },
      }),
      'threshold must be at least 1',
    ],
    [
      'a private key in public metadata',
      targets({
        delegations: {
          keys: {
            [targetsKey.id]: {
              ...(keyJson(targetsKey) as object),
              keyval: { private: 'x', public: 'eA==' },
            },
          },
          roles: [],
        },
      }),
      'private must be null',
    ],
    [
      'a duplicate key',
      Buffer.from('{"signed":{"_type":"Targets","_type":"Targets"},"signatures":[]}'),
      'duplicate key',
    ],
    [
      'a signature that is not base64',
      bytes({
        signed: JSON.parse(targets({}).toString()).signed,
        signatures: [{ keyid: targetsKey.id, method: 'ecdsa', sig: 'not base64!' }],
      }),
      'sig is not base64',
    ],
  ] as const) {
    it(label, () => {
      assert.throws(() => parseMetadata(document, 'Targets', 'targets'), invalidMetadata(text));
    });
  }

  it('a root without all four base roles', () => {
    const key = rootKey({ commonName: 'example.com/app' });
    const root = signMetadata(
      {
        _type: 'Root',
        consistent_snapshot: false,
        expires: '2030-01-01T00:00:00Z',
        keys: { [key.id]: keyJson(key) },
        roles: { root: { keyids: [key.id], threshold: 1 } },
        version: 1,
      },
      [key],
    );
    assert.throws(
      () => parseMetadata(root, 'Root', 'root.json'),
      invalidMetadata('signed.roles.targets is missing'),
    );
  });
});

describe('verifyNotarySignature', () => {
  const message = Buffer.from('{"_type":"Targets"}');

  it('checks ECDSA as fixed-width r||s only, with the ecdsa method only', () => {
    const key = ecdsaKey();
    const parsed = notaryKey('ecdsa', key.publicBytes, 'test');
    const p1363 = sign('sha256', message, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(verifyNotarySignature(parsed, 'ecdsa', message, p1363), true);
    assert.equal(verifyNotarySignature(parsed, 'eddsa', message, p1363), false);
    assert.equal(
      verifyNotarySignature(parsed, 'ecdsa', message, sign('sha256', message, key.privateKey)),
      false,
      'DER',
    );
    assert.equal(verifyNotarySignature(parsed, 'ecdsa', Buffer.from('other'), p1363), false);
  });

  it('checks RSA-PSS with a 32-byte salt and PKCS #1 v1.5, and refuses RSA keys under 2048 bits', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const parsed = notaryKey('rsa', spki, 'test');
    assert.equal(parsed.id, notaryKeyId('rsa', spki));
    const pss = sign('sha256', message, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    assert.equal(verifyNotarySignature(parsed, 'rsapss', message, pss), true);
    const pkcs1 = sign('sha256', message, privateKey);
    assert.equal(verifyNotarySignature(parsed, 'rsapkcs1v15', message, pkcs1), true);
    assert.equal(verifyNotarySignature(parsed, 'rsapss', message, pkcs1), false);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    assert.throws(() => notaryKey('rsa', small, 'test'), invalidMetadata('at least 2048 bits'));
  });

  it('refuses a key whose bytes are not what its type says', () => {
    assert.throws(
      () => notaryKey('ed25519', Buffer.alloc(31), 'test'),
      invalidMetadata('31 bytes'),
    );
    assert.throws(
      () => notaryKey('ecdsa-x509', ecdsaKey().publicBytes, 'test'),
      invalidMetadata('no PEM certificate'),
    );
    assert.throws(
      () => notaryKey('rsa', ecdsaKey().publicBytes, 'test'),
      invalidMetadata('holds an ec key'),
    );
  });
});
