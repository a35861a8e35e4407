import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { classicAnnotations } from './classic-annotations.ts';
import { bundleOfClassicSignature } from './classic-bundle.ts';
import { parseRekorBundle } from './rekor.ts';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  RFC3161_TIMESTAMP_ANNOTATION,
  SIGNATURE_ANNOTATION,
} from './signature-manifest.ts';

const body = new TextEncoder().encode(
  JSON.stringify({
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: '00'.repeat(32) } },
      signature: { content: 'AA==', publicKey: { content: 'AA==' } },
    },
  }),
);
const entry = {
  signedEntryTimestamp: new Uint8Array([1, 2, 3]),
  body,
  integratedTime: 1_700_000_000,
  logIndex: 42,
  logId: new Uint8Array(32).fill(0xab),
};

describe('classicAnnotations', () => {
  it("writes cosign's Rekor bundle in Go's field order, read back by parseRekorBundle", () => {
    const annotations = classicAnnotations({
      certificate: new Uint8Array([0x30, 0x00]),
      chain: [],
      logEntry: entry,
    });
    const text = annotations[BUNDLE_ANNOTATION] as string;
    assert.equal(
      text,
      `{"SignedEntryTimestamp":"AQID","Payload":{"body":"${Buffer.from(body).toString('base64')}","integratedTime":1700000000,"logIndex":42,"logID":"${'ab'.repeat(32)}"}}`,
    );
    const read = parseRekorBundle(text);
    assert.equal(read.payload.logIndex, 42);
    assert.deepEqual([...read.signedEntryTimestamp], [1, 2, 3]);
  });

  it('writes the leaf and the chain as PEM, and the timestamp only when there is one', () => {
    const without = classicAnnotations({
      certificate: new Uint8Array([1]),
      chain: [new Uint8Array([2]), new Uint8Array([3])],
    });
    assert.equal(
      without[CERTIFICATE_ANNOTATION],
      '-----BEGIN CERTIFICATE-----\nAQ==\n-----END CERTIFICATE-----\n',
    );
    assert.equal(
      without[CHAIN_ANNOTATION],
      '-----BEGIN CERTIFICATE-----\nAg==\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nAw==\n-----END CERTIFICATE-----\n',
    );
    assert.equal(without[BUNDLE_ANNOTATION], undefined);
    assert.equal(without[RFC3161_TIMESTAMP_ANNOTATION], undefined);
    const withTimestamp = classicAnnotations({
      certificate: new Uint8Array([1]),
      chain: [],
      timestamp: new Uint8Array([9, 9]),
    });
    assert.equal(withTimestamp[RFC3161_TIMESTAMP_ANNOTATION], '{"SignedRFC3161Timestamp":"CQk="}');
  });

  it('makes a layer the classic reader turns into the same tlog entry and timestamp', () => {
    const payload = new TextEncoder().encode('{"critical":{}}');
    const annotations = classicAnnotations({
      certificate: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]),
      chain: [],
      logEntry: entry,
      timestamp: new Uint8Array([7]),
    });
    const bundle = bundleOfClassicSignature({
      blob: payload,
      annotations: { ...annotations, [SIGNATURE_ANNOTATION]: 'c2ln' },
    });
    const [read] = bundle.verificationMaterial.tlogEntries;
    assert.equal(read?.logIndex, '42');
    assert.equal(Buffer.from(read?.logId?.keyId ?? []).toString('hex'), 'ab'.repeat(32));
    assert.deepEqual([...(read?.canonicalizedBody ?? [])], [...body]);
    assert.deepEqual(
      [
        ...(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps[0]
          ?.signedTimestamp ?? []),
      ],
      [7],
    );
    assert.equal(bundle.content.$case, 'messageSignature');
    if (bundle.content.$case === 'messageSignature') {
      assert.equal(
        Buffer.from(bundle.content.messageSignature.messageDigest?.digest ?? []).toString('hex'),
        createHash('sha256').update(payload).digest('hex'),
      );
    }
  });
});
