/**
 * schema/policy.schema.json and parsePolicy agree: every example the README
 * and the tests use validates against the schema and parses; documents the
 * schema refuses by shape are refused by the parser too. The validator
 * below covers the JSON Schema keywords the schema uses (no validator
 * library is a dependency of vouch).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parsePolicy } from './parse.ts';
import { PolicyError } from './source.ts';

type Schema = Record<string, unknown>;
const ROOT = JSON.parse(
  readFileSync(new URL('../../schema/policy.schema.json', import.meta.url), 'utf8'),
) as Schema;

function valid(value: unknown, schema: Schema = ROOT): boolean {
  if (typeof schema['$ref'] === 'string') {
    const name = schema['$ref'].replace('#/$defs/', '');
    if (!valid(value, (ROOT['$defs'] as Record<string, Schema>)[name] as Schema)) return false;
  }
  if ('const' in schema && value !== schema['const']) return false;
  if (Array.isArray(schema['enum']) && !schema['enum'].includes(value)) return false;
  const type = schema['type'];
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (type === 'object' && !isObject) return false;
  if (type === 'array' && !Array.isArray(value)) return false;
  if (type === 'string' && typeof value !== 'string') return false;
  if (type === 'boolean' && typeof value !== 'boolean') return false;
  if (type === 'integer' && !Number.isInteger(value)) return false;
  if (typeof value === 'string') {
    if (typeof schema['minLength'] === 'number' && value.length < schema['minLength']) return false;
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'], 'u').test(value))
      return false;
  }
  if (
    typeof value === 'number' &&
    typeof schema['minimum'] === 'number' &&
    value < schema['minimum']
  )
    return false;
  if (Array.isArray(value)) {
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) return false;
    if (
      schema['items'] !== undefined &&
      !value.every((item) => valid(item, schema['items'] as Schema))
    )
      return false;
  }
  if (isObject) {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const required of (schema['required'] ?? []) as string[])
      if (!(required in object)) return false;
    if (typeof schema['minProperties'] === 'number' && keys.length < schema['minProperties'])
      return false;
    for (const key of keys) {
      if (schema['propertyNames'] !== undefined && !valid(key, schema['propertyNames'] as Schema))
        return false;
      const property = properties[key];
      if (property !== undefined) {
        if (!valid(object[key], property)) return false;
      } else if (schema['additionalProperties'] === false) {
        return false;
      } else if (
        typeof schema['additionalProperties'] === 'object' &&
        !valid(object[key], schema['additionalProperties'] as Schema)
      ) {
        return false;
      }
    }
  }
  if (
    Array.isArray(schema['oneOf']) &&
    schema['oneOf'].filter((s) => valid(value, s as Schema)).length !== 1
  )
    return false;
  if (Array.isArray(schema['allOf']) && !schema['allOf'].every((s) => valid(value, s as Schema)))
    return false;
  return true;
}

function parses(document: unknown): boolean {
  try {
    parsePolicy(JSON.stringify(document));
    return true;
  } catch (error) {
    assert.ok(error instanceof PolicyError);
    return false;
  }
}

const PEM = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n';
const GOOD = {
  apiVersion: 'vouch.dev/v1alpha1',
  kind: 'ImagePolicy',
  name: 'acme',
  defaultAction: 'deny',
  authorities: {
    release: { key: { file: 'keys/release.pub' } },
    inline: { key: { pem: PEM, requireTlog: true } },
    several: {
      key: {
        keys: [{ pem: PEM }, { file: 'keys/other.pub' }],
        rekorKeys: [{ file: 'keys/rekor.pub' }],
        signedIdentity: { type: 'matchRepoDigestOrExact' },
      },
    },
    ci: {
      keyless: {
        identityRegExp: 'https://github\\.com/acme/.+',
        issuer: 'https://token.actions.githubusercontent.com',
        github: { repository: 'acme/app' },
        trustedRoot: 'trusted_root.json',
      },
    },
    pinned: {
      keyless: {
        identity: 'release@acme.dev',
        issuer: 'https://accounts.example.com',
        signedIdentity: { type: 'exactRepository', dockerRepository: 'ghcr.io/acme/app' },
      },
    },
    dct: { notary: { server: 'https://notary.example.com', rootKeys: [{ file: 'root.pem' }] } },
    np: {
      notation: {
        trustStore: { ca: ['certs/ca.crt'], tsa: ['certs/tsa.crt'] },
        trustedIdentities: ['x509.subject: C=US, ST=WA, O=acme'],
        level: 'permissive',
        verifyTimestamp: 'afterCertExpiry',
        revocation: false,
      },
    },
    gp: {
      gpg: {
        keyPaths: ['keys/pubring.gpg'],
        signedIdentity: { type: 'exactRepository', dockerRepository: 'quay.io/acme/app' },
      },
    },
  },
  rules: [
    {
      name: 'acme',
      images: ['ghcr.io/acme/**'],
      namespaces: ['prod', 'team-*'],
      authorities: ['release', 'ci'],
      threshold: 2,
      attestations: [
        {
          name: 'provenance',
          predicateType: 'slsaprovenance1',
          authorities: ['ci'],
          condition: 'predicate.buildDefinition.buildType == "x"',
        },
      ],
      mode: 'enforce',
      mutateDigest: true,
    },
    { name: 'hub', images: ['docker.io/library/*'], authorities: ['dct'], mode: 'warn' },
    { name: 'np', images: ['quay.io/acme/*'], authorities: ['np', 'release'], threshold: 2 },
    { name: 'gp', images: ['quay.io/acme/app'], authorities: ['gp'] },
    { name: 'cp', images: ['ghcr.io/acme/app'], authorities: ['several', 'pinned'] },
    { name: 'pause', images: ['registry.k8s.io/pause'], action: 'allow' },
  ],
};
const gpg = (doc: Record<string, unknown>) =>
  authority(doc, 'gp')['gpg'] as Record<string, unknown>;

function variant(edit: (doc: Record<string, unknown>) => void): Record<string, unknown> {
  const doc = structuredClone(GOOD) as Record<string, unknown>;
  edit(doc);
  return doc;
}
const rule0 = (doc: Record<string, unknown>) =>
  (doc['rules'] as Record<string, unknown>[])[0] as Record<string, unknown>;
const authority = (doc: Record<string, unknown>, name: string) =>
  (doc['authorities'] as Record<string, Record<string, unknown>>)[name] as Record<string, unknown>;

describe('schema/policy.schema.json', () => {
  it('accepts the complete example, as the parser does', () => {
    assert.ok(valid(GOOD));
    assert.ok(parses(GOOD));
  });

  const refused: Record<string, Record<string, unknown>> = {
    'an unknown top-level field': variant((d) => (d['extra'] = 1)),
    'an unknown rule field': variant((d) => (rule0(d)['treshold'] = 1)),
    'another apiVersion': variant((d) => (d['apiVersion'] = 'v1')),
    'no rules': variant((d) => (d['rules'] = [])),
    'gpg with both keyPaths and keyData': variant(
      (d) => (gpg(d)['keyData'] = '-----BEGIN PGP PUBLIC KEY BLOCK-----'),
    ),
    'gpg with no keys': variant((d) => delete gpg(d)['keyPaths']),
    'gpg keyData not armored': variant((d) => {
      delete gpg(d)['keyPaths'];
      gpg(d)['keyData'] = 'mQENBF';
    }),
    'gpg signedIdentity remapIdentity': variant(
      (d) => (gpg(d)['signedIdentity'] = { type: 'remapIdentity', prefix: 'a', signedPrefix: 'b' }),
    ),
    'gpg exactReference without dockerReference': variant(
      (d) => (gpg(d)['signedIdentity'] = { type: 'exactReference' }),
    ),
    'gpg matchExact with a dockerRepository': variant(
      (d) => (gpg(d)['signedIdentity'] = { type: 'matchExact', dockerRepository: 'a' }),
    ),
    'a rule with both action and authorities': variant((d) => (rule0(d)['action'] = 'allow')),
    'a rule with neither action nor authorities': variant((d) => delete rule0(d)['authorities']),
    'a key with both pem and keys': variant(
      (d) => ((authority(d, 'inline')['key'] as Record<string, unknown>)['keys'] = [{ pem: PEM }]),
    ),
    'a key with an empty keys list': variant(
      (d) => (authority(d, 'several')['key'] = { keys: [] }),
    ),
    'a key with an empty rekorKeys list': variant(
      (d) => ((authority(d, 'inline')['key'] as Record<string, unknown>)['rekorKeys'] = []),
    ),
    'a key signedIdentity remapIdentity': variant(
      (d) =>
        ((authority(d, 'inline')['key'] as Record<string, unknown>)['signedIdentity'] = {
          type: 'remapIdentity',
          prefix: 'a',
          signedPrefix: 'b',
        }),
    ),
    'a keyless signedIdentity without its dockerReference': variant(
      (d) =>
        ((authority(d, 'pinned')['keyless'] as Record<string, unknown>)['signedIdentity'] = {
          type: 'exactReference',
        }),
    ),
    'a key with both file and pem': variant(
      (d) => ((authority(d, 'release')['key'] as Record<string, unknown>)['pem'] = PEM),
    ),
    'an authority of two kinds': variant(
      (d) => (authority(d, 'release')['notary'] = { rootKeys: [{ pem: PEM }] }),
    ),
    'keyless without an issuer': variant(
      (d) => delete (authority(d, 'ci')['keyless'] as Record<string, unknown>)['issuer'],
    ),
    'keyless with identity and identityRegExp': variant(
      (d) => ((authority(d, 'ci')['keyless'] as Record<string, unknown>)['identity'] = 'x'),
    ),
    'notary without root keys': variant(
      (d) => (authority(d, 'dct')['notary'] = { server: 'https://n.example' }),
    ),
    'notation without trustedIdentities': variant(
      (d) =>
        delete (authority(d, 'np')['notation'] as Record<string, unknown>)['trustedIdentities'],
    ),
    'notation with an empty trust store': variant(
      (d) => ((authority(d, 'np')['notation'] as Record<string, unknown>)['trustStore'] = {}),
    ),
    'notation with an unknown trust store type': variant(
      (d) =>
        ((authority(d, 'np')['notation'] as Record<string, unknown>)['trustStore'] = {
          root: ['x.crt'],
        }),
    ),
    'notation at level skip': variant(
      (d) => ((authority(d, 'np')['notation'] as Record<string, unknown>)['level'] = 'skip'),
    ),
    'notation with revocation "off"': variant(
      (d) => ((authority(d, 'np')['notation'] as Record<string, unknown>)['revocation'] = 'off'),
    ),
    'a bad mode': variant((d) => (rule0(d)['mode'] = 'block')),
    'a threshold of 0': variant((d) => (rule0(d)['threshold'] = 0)),
    'an upper-case glob': variant((d) => (rule0(d)['images'] = ['ghcr.io/Acme/*'])),
    'a bad authority name': variant(
      (d) => ((d['authorities'] as Record<string, unknown>)['Bad Name'] = { key: { pem: PEM } }),
    ),
    'an attestation without predicateType': variant(
      (d) => (rule0(d)['attestations'] = [{ name: 'x' }]),
    ),
    'a bad defaultAction': variant((d) => (d['defaultAction'] = 'reject')),
  };
  for (const [what, document] of Object.entries(refused)) {
    it(`refuses ${what}, as the parser does`, () => {
      assert.equal(valid(document), false, 'schema');
      assert.equal(parses(document), false, 'parser');
    });
  }
});
