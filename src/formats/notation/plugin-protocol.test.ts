import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import {
  describeKeyRequest,
  generateEnvelopeRequest,
  generateSignatureRequest,
  metadataRequest,
  parseDescribeKeyResponse,
  parseGenerateEnvelopeResponse,
  parseGenerateSignatureResponse,
  parseMetadataResponse,
  parsePluginError,
} from './plugin-protocol.ts';

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const text = (value: string) => new TextEncoder().encode(value);
const refused = (fragment: string) =>
  expectError('denied', 'NOTATION_PLUGIN_RESPONSE_INVALID', fragment);

const METADATA = {
  name: 'com.example.kms',
  description: 'signs with a KMS',
  version: '1.2.3',
  url: 'https://example.com',
  supportedContractVersions: ['1.0'],
  capabilities: ['SIGNATURE_GENERATOR.RAW'],
};

describe('plugin requests are what notation-go marshals', () => {
  test('pluginConfig is left out when empty; []byte is standard base64', () => {
    assert.deepEqual(metadataRequest({}), {});
    assert.deepEqual(metadataRequest({ a: 'b' }), { pluginConfig: { a: 'b' } });
    assert.deepEqual(describeKeyRequest('k1', {}), { contractVersion: '1.0', keyId: 'k1' });
    assert.deepEqual(generateSignatureRequest('k1', 'ES384', text('a.b'), { r: 'eu' }), {
      contractVersion: '1.0',
      keyId: 'k1',
      keySpec: 'EC-384',
      hashAlgorithm: 'SHA-384',
      payload: 'YS5i',
      pluginConfig: { r: 'eu' },
    });
    assert.equal(generateSignatureRequest('k', 'PS512', text(''), {}).keySpec, 'RSA-4096');
    assert.deepEqual(generateEnvelopeRequest('k1', 'application/cose', text('{}'), 3600, {}), {
      contractVersion: '1.0',
      keyId: 'k1',
      payloadType: 'application/vnd.cncf.notary.payload.v1+json',
      signatureEnvelopeType: 'application/cose',
      payload: 'e30=',
      expiryDurationInSeconds: 3600,
    });
    assert.equal(
      'expiryDurationInSeconds' in
        generateEnvelopeRequest('k', 'application/jose+json', text(''), undefined, {}),
      false,
    );
  });
});

describe('plugin answers are read strictly', () => {
  test('metadata: every field, contract 1.0, the directory’s name', () => {
    assert.deepEqual(parseMetadataResponse(json(METADATA), 'com.example.kms'), METADATA);
    assert.equal(
      parseMetadataResponse(json({ ...METADATA, extra: 1 }), 'com.example.kms').name,
      'com.example.kms',
    );
    const cases: [unknown, string][] = [
      [{ ...METADATA, version: '' }, 'an empty version'],
      [{ ...METADATA, capabilities: [] }, 'no capabilities'],
      [{ ...METADATA, supportedContractVersions: ['2.0'] }, 'lack 1.0'],
      [{ ...METADATA, name: 'other' }, 'must be notation-other'],
      [{ ...METADATA, Name: 'x' }, 'case variant'],
    ];
    for (const [answer, fragment] of cases) {
      assert.throws(
        () => parseMetadataResponse(json(answer), 'com.example.kms'),
        refused(fragment),
      );
    }
    assert.throws(
      () => parseMetadataResponse(text('{"name":"a","name":"b"}'), 'a'),
      refused('not strict JSON'),
    );
  });

  test('describe-key: the key asked for, a key spec notation knows', () => {
    assert.equal(
      parseDescribeKeyResponse(json({ keyId: 'k', keySpec: 'EC-521' }), 'p', 'k'),
      'ES512',
    );
    assert.equal(
      parseDescribeKeyResponse(json({ keyId: 'k', keySpec: 'RSA-3072' }), 'p', 'k'),
      'PS384',
    );
    assert.throws(
      () => parseDescribeKeyResponse(json({ keyId: 'other', keySpec: 'EC-256' }), 'p', 'k'),
      refused('not the "k" asked for'),
    );
    assert.throws(
      () => parseDescribeKeyResponse(json({ keyId: 'k', keySpec: 'RSA-1024' }), 'p', 'k'),
      refused('key spec "RSA-1024"'),
    );
  });

  test('generate-signature: the key, the algorithm of its spec, base64 fields', () => {
    const answer = {
      keyId: 'k',
      signature: 'AQID',
      signingAlgorithm: 'ECDSA-SHA-256',
      certificateChain: ['MAA='],
    };
    assert.deepEqual(parseGenerateSignatureResponse(json(answer), 'p', 'k', 'ES256'), {
      signature: new Uint8Array([1, 2, 3]),
      algorithm: 'ES256',
      certificateChain: [new Uint8Array([0x30, 0])],
    });
    const cases: [unknown, string][] = [
      [{ ...answer, keyId: 'x' }, 'key ID "x"'],
      [{ ...answer, signingAlgorithm: 'RSASSA-PSS-SHA-256' }, 'calls for another'],
      [{ ...answer, signingAlgorithm: 'ED25519' }, 'none of'],
      [{ ...answer, signature: 'AQID-' }, 'not standard base64'],
      [{ ...answer, signature: '' }, 'an empty signature'],
      [{ ...answer, certificateChain: [] }, 'an empty certificate chain'],
      [{ keyId: 'k' }, 'missing'],
    ];
    for (const [bad, fragment] of cases) {
      assert.throws(
        () => parseGenerateSignatureResponse(json(bad), 'p', 'k', 'ES256'),
        refused(fragment),
      );
    }
  });

  test('generate-envelope: the type asked for, annotations as strings', () => {
    const answer = {
      signatureEnvelope: 'e30=',
      signatureEnvelopeType: 'application/jose+json',
      annotations: { a: 'b' },
    };
    assert.deepEqual(parseGenerateEnvelopeResponse(json(answer), 'p', 'application/jose+json'), {
      envelope: text('{}'),
      annotations: { a: 'b' },
    });
    assert.throws(
      () => parseGenerateEnvelopeResponse(json(answer), 'p', 'application/cose'),
      refused('not the application/cose asked for'),
    );
    assert.throws(
      () =>
        parseGenerateEnvelopeResponse(
          json({ ...answer, annotations: { a: 1 } }),
          'p',
          'application/jose+json',
        ),
      refused('annotations["a"]'),
    );
  });

  test('a plugin’s error on stderr', () => {
    assert.deepEqual(parsePluginError(json({ errorCode: 'ACCESS_DENIED', errorMessage: 'no' })), {
      errorCode: 'ACCESS_DENIED',
      errorMessage: 'no',
    });
    assert.equal(parsePluginError(text('panic: oops')), undefined);
    assert.equal(parsePluginError(json({ errorMessage: 'no code' })), undefined);
  });
});
