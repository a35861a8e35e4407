import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { parseDigest } from '../oci/digest.ts';
import {
  buildStatement,
  MAX_STATEMENT_SUBJECTS,
  parsePredicate,
  parseStatement,
  protoJson,
  STATEMENT_TYPE_V01,
  STATEMENT_TYPE_V1,
  statementNames,
} from './in-toto.ts';
import { PREDICATE_TYPES, predicateTypeUri } from './predicate-types.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);
const HEX = 'ab'.repeat(32);
const DIGEST = parseDigest(`sha256:${HEX}`);
const OTHER = parseDigest(`sha256:${'cd'.repeat(32)}`);

describe('buildStatement', () => {
  test('writes protojson field order, the image as the only subject, compact', () => {
    const statement = buildStatement({
      subjectName: 'registry.example.com/app',
      digest: DIGEST,
      predicateType: PREDICATE_TYPES.cyclonedx as string,
      predicate: { bomFormat: 'CycloneDX', specVersion: '1.5' },
    });
    assert.equal(
      text(statement),
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.example.com/app","digest":{"sha256":"${HEX}"}}],"predicateType":"https://cyclonedx.org/bom","predicate":{"bomFormat":"CycloneDX","specVersion":"1.5"}}`,
    );
  });

  test('writes the predicate as protojson writes a Struct: keys sorted (UTF-8), no HTML escaping', () => {
    const predicate = parsePredicate(
      bytes(
        '{"z":1,"a":{"y":[3,{"b":true,"a":null}],"x":"<&> \\u2028 \\n"},"\\uE000":0,"\\uD83D\\uDE00":0}',
      ),
    );
    assert.equal(
      protoJson(predicate),
      '{"a":{"x":"<&> \u2028 \\n","y":[3,{"a":null,"b":true}]},"z":1,"\uE000":0,"\uD83D\uDE00":0}',
    );
  });

  test('writes numbers as Go writes float64', () => {
    assert.equal(
      protoJson([1, -0, 1.5, 1e21, 1e20, 1.5e-7, 0.000001, Number('12345678901234567890')]),
      '[1,-0,1.5,1e+21,100000000000000000000,1.5e-7,0.000001,12345678901234567000]',
    );
  });

  test('refuses what it could not write faithfully', () => {
    const input = {
      subjectName: 'r/a',
      digest: DIGEST,
      predicateType: 'https://x/y',
      predicate: {},
    };
    assert.throws(
      () => buildStatement({ ...input, subjectName: '' }),
      expectError('invalid', 'INVALID_STATEMENT_INPUT'),
    );
    assert.throws(
      () => buildStatement({ ...input, predicateType: '' }),
      expectError('invalid', 'INVALID_STATEMENT_INPUT'),
    );
    assert.throws(
      () => buildStatement({ ...input, predicate: { s: '\uD800' } }),
      expectError('invalid', 'INVALID_JSON_STRING'),
    );
  });
});

describe('parsePredicate', () => {
  test('takes one JSON object, strictly', () => {
    assert.deepEqual({ ...parsePredicate(bytes(' {"a":[1]} \n')) }, { a: [1] });
    const invalid = (fragment: string) => expectError('invalid', 'PREDICATE_INVALID', fragment);
    assert.throws(() => parsePredicate(bytes('[1]')), invalid('must be a JSON object'));
    assert.throws(() => parsePredicate(bytes('{"a":1,"a":2}')), invalid('duplicate key'));
    assert.throws(() => parsePredicate(bytes('{"a":1}{}')), invalid('after the JSON value'));
    assert.throws(() => parsePredicate(new Uint8Array([0x7b, 0xff, 0x7d])), invalid('UTF-8'));
  });
});

describe('parseStatement', () => {
  const valid = {
    _type: STATEMENT_TYPE_V1,
    subject: [{ name: 'r/app', digest: { sha256: HEX } }],
    predicateType: 'https://spdx.dev/Document',
    predicate: { spdxVersion: 'SPDX-2.3' },
  };
  const parse = (value: unknown) => parseStatement(bytes(JSON.stringify(value)));
  const invalid = (fragment: string) => expectError('denied', 'STATEMENT_INVALID', fragment);

  test('reads what buildStatement writes', () => {
    const statement = parseStatement(
      buildStatement({
        subjectName: 'r/app',
        digest: DIGEST,
        predicateType: 'https://x/t',
        predicate: { a: 1 },
      }),
    );
    assert.equal(statement.type, STATEMENT_TYPE_V1);
    assert.equal(statement.predicateType, 'https://x/t');
    assert.deepEqual(statement.subjects, [{ name: 'r/app', digest: { sha256: HEX } }]);
    assert.deepEqual({ ...(statement.predicate as object) }, { a: 1 });
    assert.ok(statementNames(statement, DIGEST));
    assert.ok(!statementNames(statement, OTHER));
  });

  test('reads cosign 2 statements: v0.1, in-toto-golang key order, a string predicate', () => {
    // What cosign attest --type custom wrote: _type, predicateType, subject, predicate.
    const legacy = `{"_type":"${STATEMENT_TYPE_V01}","predicateType":"https://cosign.sigstore.dev/attestation/v1","subject":[{"name":"r/app","digest":{"sha256":"${HEX}"}}],"predicate":{"Data":"x","Timestamp":"2022-04-07T19:22:25Z"}}`;
    const statement = parseStatement(bytes(legacy));
    assert.equal(statement.type, STATEMENT_TYPE_V01);
    assert.ok(statementNames(statement, DIGEST));
    assert.equal(
      parse({ ...valid, predicate: 'SPDXVersion: SPDX-2.2' }).predicate,
      'SPDXVersion: SPDX-2.2',
    );
    const { predicate: _dropped, ...bare } = valid;
    assert.equal(parse(bare).predicate, null);
  });

  test('accepts v1 resource descriptors as subjects; matches by digest only', () => {
    const statement = parse({
      ...valid,
      subject: [
        { uri: 'pkg:oci/x', digest: { sha512: 'ff', gitCommit: 'abc' } },
        { digest: { sha256: HEX }, mediaType: 'x', annotations: { a: 1 } },
      ],
    });
    assert.ok(statementNames(statement, DIGEST));
    assert.ok(
      !statementNames(
        parse({ ...valid, subject: [{ name: 'r/app', digest: { sha256: HEX.toUpperCase() } }] }),
        DIGEST,
      ),
    );
    assert.ok(
      !statementNames(
        parse({ ...valid, subject: [{ name: DIGEST, digest: { sha512: HEX } }] }),
        DIGEST,
      ),
    );
  });

  test('refuses duplicate keys: two predicate types in one statement', () => {
    const doubled = `{"_type":"${STATEMENT_TYPE_V1}","subject":[{"digest":{"sha256":"${HEX}"}}],"predicateType":"https://spdx.dev/Document","predicateType":"https://cyclonedx.org/bom"}`;
    assert.throws(() => parseStatement(bytes(doubled)), invalid('duplicate key "predicateType"'));
    const digests = `{"_type":"${STATEMENT_TYPE_V1}","subject":[{"digest":{"sha256":"${HEX}","sha256":"${'cd'.repeat(32)}"}}],"predicateType":"t:x"}`;
    assert.throws(() => parseStatement(bytes(digests)), invalid('duplicate key "sha256"'));
  });

  test('refuses aliases protojson would accept and case variants Go would match', () => {
    assert.throws(
      () => parse({ ...valid, predicate_type: 'x:y' }),
      invalid('unknown key "predicate_type"'),
    );
    assert.throws(() => parse({ ...valid, type: 'x' }), invalid('unknown key "type"'));
    assert.throws(
      () => parse({ ...valid, PredicateType: 'x:y' }),
      invalid('case variant of "predicateType"'),
    );
    assert.throws(() => parse({ ...valid, extra: 1 }), invalid('unknown key "extra"'));
    assert.throws(
      () => parse({ ...valid, subject: [{ digest: { sha256: HEX }, Digest: {} }] }),
      invalid('case variant of "digest"'),
    );
  });

  test('refuses wrong types, unknown statement types and empty subjects', () => {
    assert.throws(
      () => parse({ ...valid, _type: 'https://in-toto.io/Statement/v2' }),
      invalid('_type must be'),
    );
    assert.throws(
      () => parse({ ...valid, predicateType: 7 }),
      invalid('predicateType must be a string'),
    );
    assert.throws(() => parse({ ...valid, predicateType: '' }), invalid('predicateType is empty'));
    assert.throws(() => parse({ ...valid, subject: {} }), invalid('subject must be an array'));
    assert.throws(() => parse({ ...valid, subject: [] }), invalid('subject is empty'));
    assert.throws(() => parse({ ...valid, subject: [{ name: 'x' }] }), invalid('missing "digest"'));
    assert.throws(() => parse({ ...valid, subject: [{ digest: {} }] }), invalid('digest is empty'));
    assert.throws(
      () => parse({ ...valid, subject: [{ digest: { sha256: 1 } }] }),
      invalid('must be a string'),
    );
    assert.throws(
      () => parse({ ...valid, subject: [{ name: 1, digest: { sha256: HEX } }] }),
      invalid('subject[0].name must be a string'),
    );
    assert.throws(
      () => parse({ ...valid, predicate: [1] }),
      invalid('predicate must be an object'),
    );
    assert.throws(() => parse([valid]), invalid('the statement must be an object'));
    const many = Array.from({ length: MAX_STATEMENT_SUBJECTS + 1 }, () => ({
      digest: { sha256: HEX },
    }));
    assert.throws(() => parse({ ...valid, subject: many }), invalid('1025 subjects'));
  });
});

describe('predicateTypeUri', () => {
  test("maps cosign's shorthands to cosign's URIs (options/predicate.go)", () => {
    assert.equal(predicateTypeUri('slsaprovenance1'), 'https://slsa.dev/provenance/v1');
    assert.equal(predicateTypeUri('slsaprovenance'), 'https://slsa.dev/provenance/v0.2');
    assert.equal(predicateTypeUri('slsaprovenance02'), 'https://slsa.dev/provenance/v0.2');
    assert.equal(predicateTypeUri('spdxjson'), 'https://spdx.dev/Document');
    assert.equal(predicateTypeUri('spdx'), 'https://spdx.dev/Document');
    assert.equal(predicateTypeUri('cyclonedx'), 'https://cyclonedx.org/bom');
    assert.equal(predicateTypeUri('vuln'), 'https://cosign.sigstore.dev/attestation/vuln/v1');
    assert.equal(predicateTypeUri('openvex'), 'https://openvex.dev/ns');
    assert.equal(predicateTypeUri('link'), 'https://in-toto.io/Link/v1');
    assert.equal(predicateTypeUri('custom'), 'https://cosign.sigstore.dev/attestation/v1');
  });

  test('takes absolute URIs as they are, and refuses anything else', () => {
    assert.equal(predicateTypeUri('https://example.com/p/v1'), 'https://example.com/p/v1');
    assert.equal(predicateTypeUri('urn:example:predicate'), 'urn:example:predicate');
    for (const bad of ['spdxjsn', '/relative/path', 'cyclone dx', '', 'toString', '__proto__']) {
      assert.throws(
        () => predicateTypeUri(bad),
        expectError('invalid', 'INVALID_PREDICATE_TYPE'),
        bad,
      );
    }
  });
});
