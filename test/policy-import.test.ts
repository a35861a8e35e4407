/**
 * `vouch policy import` end to end: a notation trust policy (with its trust
 * store), ClusterImagePolicies and Kyverno verifyImages rules imported as
 * ImagePolicies, each then run by `vouch policy check` against images in a
 * real Distribution 2.8 registry: the notation fixture image signed by the
 * notation CLI, the same image signed by vouch with a cosign key, and an
 * unsigned one.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signatureTag } from '../src/formats/signature-manifest.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { copyImage } from '../src/registry/copy.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { openLayout } from '../src/registry/layout.ts';
import { NO_DOCKER_CONFIG, runVouch } from './helpers/cli.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/notation');
const skip = existsSync(FIXTURES)
  ? false
  : `notation fixtures not found at ${FIXTURES} (they live outside the repository)`;

interface Checked {
  readonly image: string;
  readonly result: string;
  readonly rule: string | null;
}

describe('vouch policy import, then vouch policy check', { skip }, () => {
  let tmp: string;
  let registry: RunningRegistry;
  let http: HttpClient;
  let env: Record<string, string>;
  let publicKey: string;
  const vouch = (...args: string[]) => runVouch(args, { env });
  const image = (repository: string) => `${registry.host}/${repository}:v1`;

  async function push(repository: string): Promise<void> {
    const dir = join(tmp, `layout-${repository.replaceAll('/', '-')}`);
    await cp(join(FIXTURES, 'registry/oci_layout/e2e-valid-signature'), dir, { recursive: true });
    const source = await openLayout(dir, { create: false });
    const destination = new RegistryClient(registry.host, { http }).repository(repository);
    const pushed = await copyImage(source, { tag: 'v1' }, destination, { tag: 'v1' });
    for (const referrer of await source.referrers(pushed.descriptor.digest)) {
      await copyImage(source, { digest: referrer.digest }, destination);
    }
  }

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-policy-import-'));
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    env = { DOCKER_CONFIG: NO_DOCKER_CONFIG, HOME: tmp, VOUCH_CACHE_DIR: join(tmp, 'cache') };
    for (const repository of ['np/app', 'np/other', 'k/app', 'k/unsigned']) await push(repository);
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = join(tmp, 'key.pem');
    await writeFile(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    publicKey = publicKeyToPem(pair.publicKey);
    const sign = await vouch('sign', '--key', key, image('k/app'));
    assert.equal(sign.code, 0, sign.stderr);
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  async function check(policy: string, ...images: string[]): Promise<Checked[]> {
    const manifest = `apiVersion: v1
kind: Pod
metadata: { name: web }
spec:
  containers:
${images.map((name, i) => `    - { name: c${i}, image: "${image(name)}" }`).join('\n')}
`;
    const run = await runVouch(['policy', 'check', '--policy', policy, '-f', '-', '-o', 'json'], {
      env,
      stdin: [manifest],
    });
    assert.ok(run.code === 0 || run.code === 1, run.stdout + run.stderr);
    return (JSON.parse(run.stdout) as { images: Checked[] }).images.map((d) => ({
      image: d.image,
      result: d.result,
      rule: d.rule,
    }));
  }

  it('a notation trust policy and its trust store', async () => {
    const config = join(tmp, 'notation');
    await mkdir(join(config, 'truststore/x509/ca/e2e'), { recursive: true });
    await writeFile(
      join(config, 'truststore/x509/ca/e2e/e2e.crt'),
      await readFile(join(FIXTURES, 'config/localkeys/e2e.crt')),
    );
    await writeFile(
      join(config, 'trustpolicy.json'),
      JSON.stringify({
        version: '1.0',
        trustPolicies: [
          {
            name: 'app',
            registryScopes: [`${registry.host}/np/app`],
            signatureVerification: { level: 'strict', override: { revocation: 'skip' } },
            trustStores: ['ca:e2e'],
            trustedIdentities: ['x509.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=e2e'],
          },
        ],
      }),
    );
    const policy = join(tmp, 'out', 'notation.yaml');
    await mkdir(join(tmp, 'out'), { recursive: true });
    const run = await vouch(
      'policy',
      'import',
      '--notation-trust-policy',
      join(config, 'trustpolicy.json'),
      '--output-file',
      policy,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      await readFile(policy, 'utf8'),
      /ca:\n\s+- \.\.\/notation\/truststore\/x509\/ca\/e2e\/e2e\.crt/,
    );
    assert.deepEqual(await check(policy, 'np/app', 'np/other'), [
      { image: image('np/app'), result: 'allowed', rule: 'app' },
      // No global statement: notation denies an image no scope names.
      { image: image('np/other'), result: 'denied', rule: null },
    ]);
  });

  it('ClusterImagePolicies', async () => {
    const file = join(tmp, 'cip.yaml');
    await writeFile(
      file,
      `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: { name: signed }
spec:
  images: [{ glob: "${registry.host}/k/*" }]
  authorities:
    - name: release
      key:
        data: |
${publicKey
  .trimEnd()
  .split('\n')
  .map((line) => `          ${line}`)
  .join('\n')}
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: { name: notation-images }
spec:
  images: [{ glob: "${registry.host}/np/**" }]
  authorities: [{ name: pass, static: { action: pass } }]
`,
    );
    const run = await vouch('policy', 'import', '--cluster-image-policy', file, '-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { rules: number; policy: unknown };
    assert.equal(summary.rules, 2);
    const policy = join(tmp, 'cip-policy.yaml');
    const written = await vouch('policy', 'import', '--cluster-image-policy', file);
    await writeFile(policy, written.stdout);
    assert.deepEqual(await check(policy, 'k/app', 'k/unsigned', 'np/other'), [
      { image: image('k/app'), result: 'allowed', rule: 'signed' },
      { image: image('k/unsigned'), result: 'denied', rule: 'signed' },
      { image: image('np/other'), result: 'allowed', rule: 'notation-images' },
    ]);
  });

  it('Kyverno verifyImages', async () => {
    const file = join(tmp, 'kyverno.yaml');
    await writeFile(
      file,
      `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: { name: check }
spec:
  validationFailureAction: Enforce
  rules:
    - name: signed
      match: { any: [{ resources: { kinds: [Pod] } }] }
      verifyImages:
        - imageReferences: ["${registry.host}/k/*"]
          attestors:
            - entries:
                - keys:
                    rekor: { ignoreTlog: true }
                    publicKeys: |
${publicKey
  .trimEnd()
  .split('\n')
  .map((line) => `                      ${line}`)
  .join('\n')}
`,
    );
    const policy = join(tmp, 'kyverno-policy.yaml');
    const run = await vouch('policy', 'import', '--kyverno', file, '--output-file', policy);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await check(policy, 'k/app', 'k/unsigned', 'np/other'), [
      { image: image('k/app'), result: 'allowed', rule: 'check-signed' },
      { image: image('k/unsigned'), result: 'denied', rule: 'check-signed' },
      // Kyverno checks only what its rules match.
      { image: image('np/other'), result: 'allowed', rule: null },
    ]);
  });

  it('a containers policy.json', async () => {
    const file = join(tmp, 'policy.json');
    await writeFile(
      file,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [registry.host]: [{ type: 'reject' }],
            [`${registry.host}/k`]: [{ type: 'insecureAcceptAnything' }],
          },
        },
      }),
    );
    const policy = join(tmp, 'cp-policy.yaml');
    const run = await vouch(
      'policy',
      'import',
      '--containers-policy',
      file,
      '--output-file',
      policy,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await check(policy, 'k/app', 'np/other'), [
      { image: image('k/app'), result: 'allowed', rule: registry.host.replace(':', '-') + '-k' },
      { image: image('np/other'), result: 'denied', rule: registry.host.replace(':', '-') },
    ]);
    const refused = join(tmp, 'refused-policy.json');
    const keyData = Buffer.from(publicKey).toString('base64');
    await writeFile(
      refused,
      JSON.stringify({
        default: [
          {
            type: 'sigstoreSigned',
            fulcio: {
              caData: keyData,
              oidcIssuer: 'https://issuer.test',
              subjectEmail: 'a@b.test',
            },
            rekorPublicKeyData: keyData,
          },
        ],
      }),
    );
    const failed = await vouch('policy', 'import', '--containers-policy', refused);
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /POLICY_IMPORT_REFUSED|no exact ImagePolicy equivalent/);
    assert.match(failed.stderr, /default\[0\]\.fulcio/);
  });

  it('a containers policy.json sigstoreSigned: the signed docker-reference decides', async () => {
    // The same image and signature in another repository: the signature
    // still verifies with the key and signs the digest, but it claims
    // k/app, and the policy requires the repository the image is run from.
    await push('k/moved');
    const from = new RegistryClient(registry.host, { http }).repository('k/app');
    const { digest } = await from.resolve({ tag: 'v1' });
    const tag = signatureTag(digest);
    const to = new RegistryClient(registry.host, { http }).repository('k/moved');
    await copyImage(from, { tag }, to, { tag });
    const file = join(tmp, 'sigstore-policy.json');
    const keyFile = join(tmp, 'cosign.pub');
    await writeFile(keyFile, publicKey);
    await writeFile(
      file,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [`${registry.host}/k`]: [
              {
                type: 'sigstoreSigned',
                keyPath: keyFile,
                signedIdentity: { type: 'matchRepository' },
              },
            ],
            // vouch, like cosign, signs the repository: never the exact tagged reference.
            [`${registry.host}/k/unsigned`]: [{ type: 'sigstoreSigned', keyPath: keyFile }],
          },
        },
      }),
    );
    const policy = join(tmp, 'cp-sigstore-policy.yaml');
    const run = await vouch(
      'policy',
      'import',
      '--containers-policy',
      file,
      '--output-file',
      policy,
    );
    assert.equal(run.code, 0, run.stderr);
    const scope = `${registry.host.replace(':', '-')}-k`;
    assert.deepEqual(await check(policy, 'k/app', 'k/moved', 'k/unsigned'), [
      { image: image('k/app'), result: 'allowed', rule: scope },
      { image: image('k/moved'), result: 'denied', rule: scope },
      { image: image('k/unsigned'), result: 'denied', rule: `${scope}-unsigned` },
    ]);
    const moved = await runVouch(['policy', 'check', '--policy', policy, '-f', '-', '-o', 'json'], {
      env,
      stdin: [
        `apiVersion: v1\nkind: Pod\nmetadata: { name: web }\nspec:\n  containers:\n    - { name: c, image: "${image('k/moved')}" }\n`,
      ],
    });
    assert.equal(moved.code, 1, moved.stdout + moved.stderr);
    const [decision] = (
      JSON.parse(moved.stdout) as {
        images: { authorities: { code?: string; message: string }[] }[];
      }
    ).images;
    assert.match(
      decision?.authorities[0]?.message ?? '',
      new RegExp(
        `IDENTITY_MISMATCH: [^;]*signed docker-reference "${registry.host}/k/app" is not accepted by matchRepository for ${registry.host}/k/moved:v1`,
      ),
    );
  });

  it('a refused construct fails the import with its path, exit 2, nothing written', async () => {
    const file = join(tmp, 'refused.yaml');
    await writeFile(
      file,
      `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: { name: x }
spec:
  images: [{ glob: "ghcr.io/acme/**" }]
  authorities:
    - name: k
      keyless:
        identities: [{ issuer: https://accounts.google.com, subject: a@acme.dev }]
        trustRootRef: private
`,
    );
    const out = join(tmp, 'refused-policy.yaml');
    const run = await vouch(
      'policy',
      'import',
      '--cluster-image-policy',
      file,
      '--output-file',
      out,
    );
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(
      run.stderr,
      /spec\.authorities\[0\]\.keyless\.trustRootRef \(line 10, column \d+\): no exact ImagePolicy equivalent/,
    );
    assert.equal(existsSync(out), false);
  });
});
