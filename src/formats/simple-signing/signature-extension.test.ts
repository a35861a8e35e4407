import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { parseDigest } from '../../oci/digest.ts';
import {
  atomicSignatures,
  buildExtensionSignature,
  parseSignatureList,
} from './signature-extension.ts';

const DIGEST = parseDigest(`sha256:${'ab'.repeat(32)}`);
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

function refused(fragment: string) {
  return (error: unknown): boolean => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, 'SIGNATURE_EXTENSION_INVALID', error.message);
    assert.equal(error.category, 'denied');
    assert.ok(error.message.includes(fragment), `"${fragment}" not in: ${error.message}`);
    return true;
  };
}

describe('registry API extension signatures', () => {
  test('builds the PUT body as Go marshals extensionSignature', () => {
    const { name, body } = buildExtensionSignature(
      DIGEST,
      Uint8Array.of(0, 1, 2, 250),
      '0123456789abcdef0123456789abcdef',
    );
    assert.equal(name, `${DIGEST}@0123456789abcdef0123456789abcdef`);
    assert.equal(
      text(body),
      `{"schemaVersion":2,"name":"${DIGEST}@0123456789abcdef0123456789abcdef","type":"atomic","content":"AAEC+g=="}`,
    );
    assert.throws(() => buildExtensionSignature(DIGEST, Uint8Array.of(1), 'ABC'), RangeError);
  });

  test('reads a list and keeps only schemaVersion 2 "atomic" entries as signatures', () => {
    const list = parseSignatureList(
      bytes(
        JSON.stringify({
          signatures: [
            { schemaVersion: 2, name: `${DIGEST}@a`, type: 'atomic', content: 'AAEC', extra: 1 },
            { schemaVersion: 1, name: `${DIGEST}@b`, type: 'atomic', content: 'AQ==' },
            { schemaVersion: 2, name: `${DIGEST}@c`, type: 'other', content: 'Ag==' },
            { schemaVersion: 2, name: `${DIGEST}@d`, type: 'atomic', content: 'Aw==' },
          ],
          kind: 'SignatureList',
        }),
      ),
      'r/x',
    );
    assert.equal(list.length, 4);
    assert.deepEqual(atomicSignatures(list), [Uint8Array.of(0, 1, 2), Uint8Array.of(3)]);
  });

  test('a list a built body round-trips through', () => {
    const { body } = buildExtensionSignature(DIGEST, bytes('sig'), 'f'.repeat(32));
    const list = parseSignatureList(bytes(`{"signatures":[${text(body)}]}`), 'r/x');
    assert.deepEqual(atomicSignatures(list), [bytes('sig')]);
  });

  test('missing or null signatures is an empty list, as in Go', () => {
    assert.deepEqual(parseSignatureList(bytes('{}'), 'r/x'), []);
    assert.deepEqual(parseSignatureList(bytes('{"signatures":null}'), 'r/x'), []);
  });

  test('refuses what two readers could read differently', () => {
    for (const [body, fragment] of [
      ['[]', 'the list must be an object'],
      ['{"signatures":{}}', 'signatures must be an array'],
      ['{"signatures":[], "signatures":[]}', 'duplicate'],
      ['{"Signatures":[]}', 'case variant'],
      ['{"signatures":[{"schemaVersion":2,"name":"n","type":"atomic"}]}', 'missing "content"'],
      [
        '{"signatures":[{"schemaVersion":"2","name":"n","type":"atomic","content":""}]}',
        'must be an integer',
      ],
      [
        '{"signatures":[{"schemaVersion":2.5,"name":"n","type":"atomic","content":""}]}',
        'must be an integer',
      ],
      [
        '{"signatures":[{"schemaVersion":2,"name":null,"type":"atomic","content":""}]}',
        'name must be a string',
      ],
      [
        '{"signatures":[{"schemaVersion":2,"name":"n","type":"atomic","content":"!!"}]}',
        'not standard base64',
      ],
      [
        '{"signatures":[{"schemaVersion":2,"name":"n","type":"atomic","Content":"AA=="}]}',
        'case variant',
      ],
      ['{"signatures":[]} x', 'invalid signature list'],
    ] as const) {
      assert.throws(() => parseSignatureList(bytes(body), 'r/x'), refused(fragment), body);
    }
  });
});
