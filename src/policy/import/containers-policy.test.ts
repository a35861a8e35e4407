import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { publicKeyToPem } from '../../keys/pem.ts';
import { selectRule } from '../match.ts';
import { PolicyError } from '../source.ts';
import { importContainersPolicyFiles } from './containers-policy-files.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../../shared/fixtures/containers-image');
const skip = existsSync(FIXTURES) ? false : `containers-image fixtures not found at ${FIXTURES}`;
const ARMORED = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n';

describe('vouch policy import --containers-policy', { skip }, () => {
  let tmp: string;
  let key: string;
  let n = 0;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-import-cp-'));
    key = join(tmp, 'key.gpg');
    await writeFile(key, await readFile(join(FIXTURES, 'public-key.gpg')));
  });

  after(async () => {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  async function importPolicy(policy: unknown, policyDir?: string) {
    const path = join(tmp, `policy-${n++}.json`);
    await writeFile(path, JSON.stringify(policy));
    return importContainersPolicyFiles(path, policyDir === undefined ? {} : { policyDir });
  }

  async function refused(policy: unknown, path: string, why: RegExp) {
    await assert.rejects(importPolicy(policy), (error) => {
      assert.ok(error instanceof PolicyError);
      assert.equal(error.code, 'POLICY_IMPORT_REFUSED');
      const issue = error.issues.find((i) => i.path === path);
      assert.ok(issue, `no issue at ${path}: ${JSON.stringify(error.issues)}`);
      assert.match(issue.message, /no exact ImagePolicy equivalent/);
      assert.match(issue.message, why);
      return true;
    });
  }

  const signedBy = (extra: object = {}) => ({
    type: 'signedBy',
    keyType: 'GPGKeys',
    keyPath: key,
    ...extra,
  });

  it('orders scopes most specific first and ends with default', async () => {
    const { document, compiled } = await importPolicy({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          'example.com': [{ type: 'insecureAcceptAnything' }],
          'example.com/team/app': [signedBy()],
          'example.com/team': [{ type: 'reject' }],
          'docker.io/library': [{ type: 'insecureAcceptAnything' }],
        },
      },
    });
    assert.deepEqual(
      document.rules.map((r) => [r.images, r.action ?? 'verify']),
      [
        [['example.com/team/app', 'example.com/team/app/**'], 'verify'],
        [['example.com/team', 'example.com/team/**'], 'deny'],
        [['docker.io/library/**'], 'allow'],
        [['example.com/**'], 'allow'],
        [['**'], 'deny'],
      ],
    );
    // The scope containers/image would pick is the rule that decides.
    assert.equal(selectRule(compiled, 'example.com/team/app:1')?.action, 'verify');
    assert.equal(
      selectRule(compiled, 'example.com/team/app/sub@sha256:' + '0'.repeat(64))?.action,
      'verify',
    );
    assert.equal(selectRule(compiled, 'example.com/team/other:1')?.action, 'deny');
    assert.equal(selectRule(compiled, 'example.com/team:1')?.action, 'deny');
    assert.equal(selectRule(compiled, 'example.com/x:1')?.action, 'allow');
    assert.equal(selectRule(compiled, 'nginx')?.action, 'allow');
    assert.equal(selectRule(compiled, 'quay.io/a/b')?.action, 'deny');
  });

  it('writes a gpg authority with the signed identity and key paths relative to the output', async () => {
    const { document, compiled } = await importPolicy(
      {
        default: [signedBy({ signedIdentity: { type: 'matchRepository' } })],
      },
      tmp,
    );
    assert.deepEqual(document.authorities, {
      'default-gpg': {
        gpg: { keyPaths: ['key.gpg'], signedIdentity: { type: 'matchRepository' } },
      },
    });
    assert.deepEqual(document.rules, [
      { name: 'default', images: ['**'], authorities: ['default-gpg'] },
    ]);
    const authority = compiled.authorities.get('default-gpg');
    assert.equal(authority?.kind, 'gpg');
    assert.deepEqual(
      authority?.kind === 'gpg' ? authority.keyring[0] : undefined,
      new Uint8Array(await readFile(key)),
    );
  });

  it('requires every signature requirement of a list (threshold), and drops insecureAcceptAnything', async () => {
    const { document, compiled } = await importPolicy({
      default: [
        { type: 'insecureAcceptAnything' },
        signedBy(),
        signedBy({ keyPath: undefined, keyPaths: [key] }),
      ],
    });
    const rule = document.rules[0];
    assert.equal(rule?.threshold, 2);
    assert.equal(rule?.authorities?.length, 2);
    assert.equal(compiled.rules[0]?.threshold, 2);
  });

  it('keeps armored keyData, and the docker "" scope replaces default', async () => {
    const data = Buffer.from(ARMORED).toString('base64');
    const { document } = await importPolicy({
      default: [{ type: 'sigstoreSigned', keyPath: key }],
      transports: {
        docker: { '': [{ type: 'signedBy', keyType: 'GPGKeys', keyData: data }] },
        atomic: { 'x.io': [{ type: 'sigstoreSigned', keyPath: key }] },
      },
    });
    assert.deepEqual(document.authorities, { 'docker-default-gpg': { gpg: { keyData: ARMORED } } });
    assert.deepEqual(
      document.rules.map((r) => r.images),
      [['**']],
    );
  });

  it('refuses what has no exact equivalent, naming its path', async () => {
    await refused(
      {
        default: [{ type: 'reject' }],
        transports: { docker: { '*.example.com': [{ type: 'reject' }] } },
      },
      'transports.docker["*.example.com"]',
      /suffix/,
    );
    await refused(
      {
        default: [{ type: 'reject' }],
        transports: { docker: { 'example.com/app:1': [{ type: 'reject' }] } },
      },
      'transports.docker["example.com/app:1"]',
      /tag or digest/,
    );
    await refused(
      { default: [{ type: 'sigstoreSigned', keyPath: key }] },
      'default[0].keyPath',
      /not a PEM public key/,
    );
    await refused(
      {
        default: [
          signedBy({
            signedIdentity: {
              type: 'remapIdentity',
              prefix: 'example.com',
              signedPrefix: 'other.com',
            },
          }),
        ],
      },
      'default[0].signedIdentity',
      /remapIdentity/,
    );
    await refused(
      {
        default: [
          {
            type: 'signedBy',
            keyType: 'GPGKeys',
            keyData: Buffer.from('binary').toString('base64'),
          },
        ],
      },
      'default[0].keyData',
      /ASCII-armored/,
    );
    await refused(
      { default: [signedBy({ keyType: 'X509Certificates' })] },
      'default[0].keyType',
      /not implemented/,
    );
    await refused(
      { default: [{ type: 'signedBaseLayer', baseLayerIdentity: { type: 'matchExact' } }] },
      'default[0]',
      /not implemented/,
    );
    await refused(
      {
        default: [{ type: 'reject' }],
        transports: { atomic: { 'x.io': [{ type: 'insecureAcceptAnything' }] } },
      },
      'transports.atomic["x.io"]',
      /atomic transport/,
    );
  });

  it('maps sigstoreSigned keys to one key authority, any key, with its signedIdentity written out', async () => {
    const cosign = join(tmp, 'cosign.pub');
    const cosign2 = join(tmp, 'cosign2.pub');
    await writeFile(cosign, await readFile(join(FIXTURES, 'cosign.pub')));
    await writeFile(cosign2, await readFile(join(FIXTURES, 'cosign2.pub')));
    const data = await readFile(join(FIXTURES, 'cosign2.pub'));
    const { document, compiled } = await importPolicy(
      {
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            'example.com/app': [{ type: 'sigstoreSigned', keyPaths: [cosign, cosign2] }],
            'example.com/other': [
              {
                type: 'sigstoreSigned',
                keyData: data.toString('base64'),
                signedIdentity: { type: 'matchRepository' },
              },
              signedBy(),
            ],
          },
        },
      },
      tmp,
    );
    const keyPem = (await readFile(cosign2, 'utf8')).trim();
    const inline = document.authorities?.['example.com-other-key'];
    assert.ok(inline !== undefined && 'key' in inline && 'keys' in inline.key);
    assert.deepEqual(inline.key.signedIdentity, { type: 'matchRepository' });
    assert.equal(inline.key.keys.length, 1);
    const [only] = inline.key.keys;
    assert.equal(only !== undefined && 'pem' in only ? only.pem.trim() : undefined, keyPem);
    assert.deepEqual(document.authorities?.['example.com-app-key'], {
      // The default rule, written: a key authority without one checks no docker-reference.
      key: {
        keys: [{ file: 'cosign.pub' }, { file: 'cosign2.pub' }],
        signedIdentity: { type: 'matchRepoDigestOrExact' },
      },
    });
    assert.deepEqual(
      document.rules.map((r) => [r.name, r.authorities, r.threshold]),
      [
        ['example.com-app', ['example.com-app-key'], undefined],
        ['example.com-other', ['example.com-other-key', 'example.com-other-gpg'], 2],
        ['default', undefined, undefined],
      ],
    );
    const app = compiled.authorities.get('example.com-app-key');
    assert.equal(app?.kind, 'key');
    assert.equal(app.keys.length, 2);
    assert.equal(app.requireTlog, false);
    assert.deepEqual(app.signedIdentity, { type: 'matchRepoDigestOrExact' });
  });

  it('maps Rekor public keys to rekorKeys: the only logs trusted, and required', async () => {
    const cosign2 = join(FIXTURES, 'cosign2.pub');
    const rekor = Buffer.from(
      publicKeyToPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
    );
    const { document, compiled } = await importPolicy({
      default: [
        {
          type: 'sigstoreSigned',
          keyPath: cosign2,
          rekorPublicKeyDatas: [rekor.toString('base64')],
          signedIdentity: { type: 'matchRepository' },
        },
      ],
    });
    const authority = document.authorities?.['default-key'];
    assert.ok(authority !== undefined && 'key' in authority);
    assert.equal(authority.key.rekorKeys?.length, 1);
    const [rekorKey] = authority.key.rekorKeys ?? [];
    assert.equal(
      rekorKey !== undefined && 'pem' in rekorKey ? rekorKey.pem.trim() : undefined,
      rekor.toString('utf8').trim(),
    );
    const compiledKey = compiled.authorities.get('default-key');
    assert.equal(compiledKey?.kind, 'key');
    assert.equal(compiledKey.requireTlog, true);
    assert.equal(compiledKey.tlogs?.length, 1);
  });

  it('refuses sigstoreSigned with fulcio, pki, remapIdentity, a key or Rekor key upstream refuses, naming each', async () => {
    const cosign = join(FIXTURES, 'cosign.pub');
    const rekor = join(tmp, 'rekor.pub');
    await writeFile(
      rekor,
      publicKeyToPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
    );
    const ca = join(FIXTURES, 'fulcio_v1.crt.pem');
    const ed25519 = publicKeyToPem(generateKeyPairSync('ed25519').publicKey);
    await refused(
      {
        default: [
          {
            type: 'sigstoreSigned',
            keyPath: cosign,
            rekorPublicKeyData: Buffer.from(ed25519).toString('base64'),
          },
        ],
      },
      'default[0].rekorPublicKeyData',
      /requires ECDSA Rekor public keys/,
    );
    await refused(
      {
        default: [
          {
            type: 'sigstoreSigned',
            fulcio: {
              caPath: ca,
              oidcIssuer: 'https://github.com/login/oauth',
              subjectEmail: 'a@b',
            },
            rekorPublicKeyPaths: [rekor],
          },
        ],
      },
      'default[0].fulcio',
      /SCT/,
    );
    await refused(
      {
        default: [
          {
            type: 'sigstoreSigned',
            pki: { caRootsPath: ca, subjectEmail: 'a@b' },
          },
        ],
      },
      'default[0].pki',
      /CA pool/,
    );
    await refused(
      {
        default: [
          {
            type: 'sigstoreSigned',
            keyPath: cosign,
            signedIdentity: { type: 'remapIdentity', prefix: 'a.io', signedPrefix: 'b.io' },
          },
        ],
      },
      'default[0].signedIdentity',
      /remapIdentity/,
    );
    await refused(
      {
        default: [
          { type: 'sigstoreSigned', keyDatas: [Buffer.from('not a key').toString('base64')] },
        ],
      },
      'default[0].keyDatas',
      /not a PEM public key/,
    );
  });

  it('refuses a policy.json containers/image would refuse, and a missing key file', async () => {
    await assert.rejects(importPolicy({ default: [] }), (error) => {
      assert.ok(isVouchError(error));
      assert.equal(error.code, 'CONTAINERS_POLICY_INVALID');
      return true;
    });
    await assert.rejects(
      importPolicy({ default: [signedBy({ keyPath: join(tmp, 'none.gpg') })] }),
      (error) => {
        assert.ok(isVouchError(error));
        assert.equal(error.code, 'POLICY_IMPORT_INVALID');
        return true;
      },
    );
  });
});
