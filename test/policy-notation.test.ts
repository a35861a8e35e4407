/**
 * ImagePolicy `notation:` authorities end to end: the notation CLI's
 * signed fixture image (../shared/fixtures/notation, from
 * notaryproject/notation test/e2e/testdata) pushed into a real Distribution
 * 2.8 registry with its signature as a referrer (the fallback tag), decided
 * by `vouch policy evaluate` / `check` and by the admission webhook, with the
 * certificate that signed it as the authority's `ca`, or another one.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { copyImage } from '../src/registry/copy.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { openLayout } from '../src/registry/layout.ts';
import { admit, podSpec, reviewOf, startWebhook } from './helpers/admission.ts';
import { NO_DOCKER_CONFIG, runVouch } from './helpers/cli.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/notation');
const skip = existsSync(FIXTURES)
  ? false
  : `notation fixtures not found at ${FIXTURES} (they live outside the repository)`;
const IMAGE_DIGEST = 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9';

interface Decision {
  readonly image: string;
  readonly result: string;
  readonly rule: string | null;
  readonly reason: string;
  readonly digest?: string;
  readonly authorities: ReadonlyArray<{
    authority: string;
    kind: string;
    status: string;
    counted: boolean;
    code?: string;
    message: string;
    signers?: string[];
  }>;
}

describe('vouch policy with notation authorities', { skip }, () => {
  let tmp: string;
  let registry: RunningRegistry;
  let http: HttpClient;
  let policyFile: string;
  let env: Record<string, string>;
  const vouch = (...args: string[]) => runVouch(args, { env });
  const image = (repository: string) => `${registry.host}/${repository}:v1`;

  /** The signed fixture image pushed as `repository`, its signature as a referrer. */
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
    tmp = await mkdtemp(join(tmpdir(), 'vouch-policy-notation-'));
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    env = { DOCKER_CONFIG: NO_DOCKER_CONFIG, HOME: tmp, VOUCH_CACHE_DIR: join(tmp, 'cache') };
    for (const repository of ['np/app', 'np/both', 'np/half']) await push(repository);
    await mkdir(join(tmp, 'policy', 'certs'), { recursive: true });
    for (const cert of ['e2e.crt', 'new_e2e.crt']) {
      await writeFile(
        join(tmp, 'policy', 'certs', cert),
        await readFile(join(FIXTURES, 'config/localkeys', cert)),
      );
    }
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = join(tmp, 'key.pem');
    await writeFile(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await writeFile(join(tmp, 'policy', 'release.pub'), publicKeyToPem(pair.publicKey));
    const sign = await vouch('sign', '--key', key, image('np/both'));
    assert.equal(sign.code, 0, sign.stderr);
    policyFile = join(tmp, 'policy', 'policy.yaml');
    await writeFile(
      policyFile,
      `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  e2e:
    notation:
      trustStore: { ca: [certs/e2e.crt] }
      trustedIdentities: ["x509.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=e2e"]
  other:
    notation:
      trustStore: { ca: [certs/new_e2e.crt] }
      trustedIdentities: ["*"]
  wrong-identity:
    notation:
      trustStore: { ca: [certs/e2e.crt] }
      trustedIdentities: ["x509.subject: C=US, ST=WA, O=Acme"]
  release:
    key: { file: release.pub }
rules:
  - name: app
    images: ["${registry.host}/np/app"]
    authorities: [e2e]
  - name: other-ca
    images: ["${registry.host}/np/other"]
    authorities: [other]
  - name: other-identity
    images: ["${registry.host}/np/identity"]
    authorities: [wrong-identity]
  - name: both
    images: ["${registry.host}/np/both", "${registry.host}/np/half"]
    authorities: [e2e, release]
    threshold: 2
`,
    );
    // The same image under the repositories the other rules match.
    await push('np/other');
    await push('np/identity');
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  async function evaluate(...images: string[]) {
    const run = await vouch('policy', 'evaluate', '--policy', policyFile, '-o', 'json', ...images);
    const report = JSON.parse(run.stdout) as { allowed: boolean; images: Decision[] };
    return { run, report };
  }

  it('evaluate: allows the image signed by the ca certificate, as the signer it names', async () => {
    const { run, report } = await evaluate(image('np/app'));
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const [decision] = report.images;
    assert.equal(decision?.result, 'allowed');
    assert.equal(decision.digest, IMAGE_DIGEST);
    assert.deepEqual(
      decision.authorities.map((a) => [a.authority, a.kind, a.status, a.counted]),
      [['e2e', 'notation', 'verified', true]],
    );
    assert.match(decision.authorities[0]?.signers?.[0] ?? '', /CN=e2e/);
    const text = await vouch('policy', 'evaluate', '--policy', policyFile, image('np/app'));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /e2e \(notation\): verified/);
  });

  it('evaluate: denies it under another ca certificate, or an identity it does not have', async () => {
    const { run, report } = await evaluate(image('np/other'), image('np/identity'));
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const [other, identity] = report.images;
    assert.equal(other?.result, 'denied');
    assert.equal(other.authorities[0]?.status, 'denied');
    assert.equal(other.authorities[0]?.counted, false);
    assert.equal(identity?.result, 'denied');
    assert.equal(identity.authorities[0]?.status, 'denied');
    assert.match(identity.authorities[0]?.message ?? '', /identit/i);
  });

  it('evaluate: a threshold of 2 needs the notation and the key signature', async () => {
    const { run, report } = await evaluate(image('np/both'), image('np/half'));
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const [both, half] = report.images;
    assert.equal(both?.result, 'allowed', both?.reason);
    assert.deepEqual(
      both.authorities.map((a) => [a.authority, a.counted]),
      [
        ['e2e', true],
        ['release', true],
      ],
    );
    assert.equal(half?.result, 'denied');
    assert.match(half.reason, /1 of 2 required authorities verified it/);
  });

  it('check: decides the images of a manifest', async () => {
    const manifest = `apiVersion: v1
kind: Pod
metadata: { name: web }
spec:
  containers:
    - { name: app, image: "${image('np/app')}" }
    - { name: other, image: "${image('np/other')}" }
`;
    const run = await runVouch(
      ['policy', 'check', '--policy', policyFile, '-f', '-', '-o', 'json'],
      { env, stdin: [manifest] },
    );
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as { images: Decision[] };
    assert.deepEqual(
      report.images.map((d) => [d.image, d.result]),
      [
        [image('np/app'), 'allowed'],
        [image('np/other'), 'denied'],
      ],
    );
  });

  it('admission: admits the signed image, refuses it under another ca', async () => {
    const certs = join(tmp, 'certs');
    const cert = await runVouch(
      ['admission', 'cert', '--dns', 'localhost', '--dns', '127.0.0.1', '--out-dir', certs],
      { env },
    );
    assert.equal(cert.code, 0, cert.stderr);
    const ca = await readFile(join(certs, 'ca.crt'), 'utf8');
    const webhook = await startWebhook(
      [
        '--policy',
        policyFile,
        '--tls-cert',
        join(certs, 'tls.crt'),
        '--tls-key',
        join(certs, 'tls.key'),
      ],
      tmp,
    );
    try {
      const pod = (images: string[]) =>
        reviewOf({ group: '', version: 'v1', kind: 'Pod' }, { kind: 'Pod', spec: podSpec(images) });
      const allowed = await admit(webhook.port, ca, '/validate', pod([image('np/app')]));
      assert.equal(allowed.allowed, true, JSON.stringify(allowed));
      const refused = await admit(webhook.port, ca, '/validate', pod([image('np/other')]));
      assert.equal(refused.allowed, false);
      assert.match(refused.status?.message ?? '', /rule other-ca/);
    } finally {
      await webhook.stop();
    }
  });
});
