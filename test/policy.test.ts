/**
 * `vouch policy evaluate | test | check` end to end against a real
 * Distribution 2.8 registry holding an image signed with a key, one signed
 * and attested (SLSA provenance), and an unsigned one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { runVouch } from './helpers/cli.ts';
import { buildImage } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const BIN = new URL('../src/cli/bin.ts', import.meta.url).pathname;

/**
 * `vouch <args>` in a child process with a small heap, killed after
 * `timeoutMs`: a condition without limits runs out of memory (exit 134) or
 * runs for minutes, and must do neither inside the test runner.
 */
function vouchChild(
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs: number,
): Promise<{
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--max-old-space-size=256', BIN, ...args], {
    env: { ...env, PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) =>
    child.once('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started }),
    ),
  );
}

interface Decision {
  readonly image: string;
  readonly result: string;
  readonly rule: string | null;
  readonly reason: string;
  readonly digest?: string;
  readonly pin?: string;
  readonly file?: string;
  readonly line?: number;
  readonly authorities: ReadonlyArray<{ authority: string; status: string; code?: string }>;
  readonly attestations: ReadonlyArray<{ name: string; status: string }>;
}

describe('vouch policy', () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let tmp: string;
  let env: Record<string, string | undefined>;
  let policyFile: string;
  const digests: Record<string, string> = {};
  let signed: string;
  let attested: string;
  let badBuild: string;
  let unsigned: string;
  let costly: string;
  const vouch = (...args: string[]) => runVouch(args, { env });

  before(async () => {
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    const client = new RegistryClient(registry.host, { http });
    tmp = await mkdtemp(join(tmpdir(), 'vouch-policy-test-'));
    env = { DOCKER_CONFIG: join(tmp, 'docker-config') };
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(tmp, 'key.pem'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await mkdir(join(tmp, 'keys'));
    await writeFile(join(tmp, 'keys', 'release.pub'), publicKeyToPem(pair.publicKey));
    for (const name of ['signed', 'attested', 'badbuild', 'unsigned', 'costly']) {
      const built = await buildImage(client.repository(`acme/${name}`), {
        tag: '1.0',
        layers: 1,
        layerSize: 64,
      });
      digests[name] = built.descriptor.digest;
    }
    signed = `${registry.host}/acme/signed:1.0`;
    attested = `${registry.host}/acme/attested:1.0`;
    badBuild = `${registry.host}/acme/badbuild:1.0`;
    unsigned = `${registry.host}/acme/unsigned:1.0`;
    costly = `${registry.host}/acme/costly:1.0`;
    const key = join(tmp, 'key.pem');
    for (const image of [signed, attested, badBuild, costly]) {
      const run = await vouch('sign', '--key', key, image);
      assert.equal(run.code, 0, run.stderr);
    }
    for (const [image, buildType] of [
      [attested, 'https://example.com/build/v1'],
      [badBuild, 'https://evil.example/build'],
    ] as const) {
      const predicate = join(tmp, `predicate-${buildType.length}.json`);
      await writeFile(
        predicate,
        JSON.stringify({ buildDefinition: { buildType }, runDetails: {} }),
      );
      const run = await vouch(
        'attest',
        '--key',
        key,
        '--type',
        'slsaprovenance1',
        '--predicate',
        predicate,
        image,
      );
      assert.equal(run.code, 0, run.stderr);
    }
    // A predicate with lists of 200 and 1,000 numbers, and a 1 MiB string.
    const lists = join(tmp, 'predicate-lists.json');
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    await writeFile(
      lists,
      JSON.stringify({ list: range(200), long: range(1000), text: 'x'.repeat(1 << 20) }),
    );
    const attest = await vouch(
      'attest',
      '--key',
      key,
      '--type',
      'vuln',
      '--predicate',
      lists,
      costly,
    );
    assert.equal(attest.code, 0, attest.stderr);
    policyFile = join(tmp, 'policy.yaml');
    await writeFile(
      policyFile,
      `# The team's policy
apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
defaultAction: deny
authorities:
  release:
    key: { file: keys/release.pub }
rules:
  - name: attested
    images: ["${registry.host}/acme/attested", "${registry.host}/acme/badbuild"]
    authorities: [release]
    attestations:
      - name: provenance
        predicateType: slsaprovenance1
        condition: predicate.buildDefinition.buildType == "https://example.com/build/v1"
  - name: acme
    images: ["${registry.host}/acme/**"]
    authorities: [release]
  - name: unreachable
    images: ["127.0.0.1:1/**"]
    authorities: [release]
  - name: pause
    images: ["registry.k8s.io/pause"]
    action: allow
    mutateDigest: false
`,
    );
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('evaluate: allows signed and attested images, denies the rest, per authority and attestation', async () => {
    const run = await vouch(
      'policy',
      'evaluate',
      '--policy',
      policyFile,
      '-o',
      'json',
      signed,
      attested,
      badBuild,
      unsigned,
      'quay.io/x/y:1',
    );
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as { allowed: boolean; images: Decision[] };
    assert.equal(report.allowed, false);
    const [s, a, b, u, q] = report.images as [Decision, Decision, Decision, Decision, Decision];
    assert.equal(s.result, 'allowed');
    assert.equal(s.rule, 'acme');
    assert.equal(s.pin, `${signed}@${digests.signed}`);
    assert.equal(a.result, 'allowed');
    assert.equal(a.attestations[0]?.status, 'satisfied');
    assert.equal(b.result, 'denied');
    assert.match(b.reason, /attestation provenance: .*the condition is false/);
    assert.equal(u.result, 'denied');
    assert.equal(u.authorities[0]?.code, 'NO_SIGNATURES');
    assert.equal(q.result, 'denied');
    assert.equal(q.rule, null);

    const text = await vouch('policy', 'evaluate', '--policy', policyFile, signed);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /: allowed\n {2}rule: acme, mode enforce\n/);
    assert.match(text.stdout, /release \(key\): verified: 1 valid signature/);
  });

  it('evaluate: exit 3 when the registry cannot be reached, 2 for a bad policy', async () => {
    const down = await vouch(
      'policy',
      'evaluate',
      '--policy',
      policyFile,
      '--timeout',
      '2',
      '127.0.0.1:1/acme/app:1',
    );
    assert.equal(down.code, 3, down.stdout + down.stderr);
    const bad = join(tmp, 'bad.yaml');
    await writeFile(
      bad,
      'apiVersion: vouch.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: x\n    images: [nginx]\n    action: allow\n',
    );
    const run = await vouch('policy', 'evaluate', '--policy', bad, signed);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /rules\[0\]\.images\[0\] \(line 5, column 14\): .*start with a registry/,
    );
  });

  it('evaluate and check: a rule covers every spelling of its registry; default ports are refused', async () => {
    // A signature is required for localhost:PORT; everything else is allowed.
    // Host case and leading zeros in the port reach the same registry, so
    // they must not fall through to the default action.
    const port = registry.host.slice(registry.host.lastIndexOf(':') + 1);
    const file = join(tmp, 'spelling-policy.yaml');
    await writeFile(
      file,
      `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
defaultAction: allow
authorities:
  release:
    key: { file: keys/release.pub }
rules:
  - name: local
    images: ["localhost:${port}/acme/**"]
    authorities: [release]
`,
    );
    const spellings = [
      `LOCALHOST:${port}/acme/unsigned:1.0`,
      `LocalHost:${port}/acme/unsigned:1.0`,
      `localhost:0${port}/acme/unsigned:1.0`,
    ];
    for (const image of spellings) {
      const run = await vouch('policy', 'evaluate', '--policy', file, '-o', 'json', image);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const [decision] = (JSON.parse(run.stdout) as { images: Decision[] }).images;
      assert.deepEqual(
        [decision?.image, decision?.rule, decision?.result, decision?.digest],
        [image, 'local', 'denied', digests['unsigned']],
      );
    }
    const signedHere = await vouch(
      'policy',
      'evaluate',
      '--policy',
      file,
      `LOCALHOST:${port}/acme/signed:1.0`,
    );
    assert.equal(signedHere.code, 0, signedHere.stdout + signedHere.stderr);
    assert.match(signedHere.stdout, /: allowed\n {2}rule: local, mode enforce\n/);

    // An explicit default port is refused, not matched by nothing and allowed.
    const refused = await vouch('policy', 'evaluate', '--policy', file, 'localhost:443/acme/app:1');
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(
      refused.stdout,
      /DENIED\n[^]*reason: not an image reference: .*registry port 443 is the default port of HTTPS/,
    );

    const manifest = `apiVersion: v1
kind: Pod
metadata: { name: web, namespace: prod }
spec:
  containers:
    - { name: a, image: "LOCALHOST:${port}/acme/unsigned:1.0" }
    - { name: b, image: "ghcr.io:443/acme/app:1" }
`;
    const check = await runVouch(['policy', 'check', '--policy', file, '-f', '-', '-o', 'json'], {
      env,
      stdin: [manifest],
    });
    assert.equal(check.code, 1, check.stdout + check.stderr);
    const rows = (JSON.parse(check.stdout) as { images: Decision[] }).images;
    assert.deepEqual(
      rows.map((d) => [d.image, d.rule, d.result]),
      [
        [`LOCALHOST:${port}/acme/unsigned:1.0`, 'local', 'denied'],
        ['ghcr.io:443/acme/app:1', null, 'denied'],
      ],
    );
  });

  it('evaluate: a notary authority on plain HTTP (not loopback) is refused before any request', async () => {
    // The parser takes any http(s) URL; plain HTTP off loopback needs --allow-insecure-registry.
    const file = join(tmp, 'notary-policy.yaml');
    await writeFile(
      file,
      `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  hub:
    notary: { server: "http://notary.example.com", rootKeys: [{ file: keys/release.pub }] }
rules:
  - name: acme
    images: ["${registry.host}/acme/**"]
    authorities: [hub]
`,
    );
    const run = await vouch('policy', 'evaluate', '--policy', file, signed);
    assert.notEqual(run.code, 0, run.stdout + run.stderr);
    assert.match(
      run.stdout + run.stderr,
      /notary server http:\/\/notary\.example\.com\/ is plain HTTP; use HTTPS, or --allow-insecure-registry/,
    );
  });

  describe('conditions that cost too much', () => {
    const policyWith = async (name: string, condition: string) => {
      const file = join(tmp, `${name}.yaml`);
      await writeFile(
        file,
        `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  release:
    key: { file: keys/release.pub }
rules:
  - name: costly
    images: ["${registry.host}/acme/costly"]
    authorities: [release]
    attestations:
      - name: scan
        predicateType: vuln
        condition: ${condition}
`,
      );
      return file;
    };

    for (const [what, condition, depth] of [
      [
        'three nested map() (a 4.4 GB heap OOM without limits)',
        'predicate.list.map(a, predicate.list.map(b, predicate.list.map(c, [a, b, c]))).size() > 0',
        3,
      ],
      [
        'four nested all() (minutes of CPU without limits)',
        'predicate.list.all(a, predicate.list.all(b, predicate.list.all(c, predicate.list.all(d, a + b + c + d >= 0.0))))',
        4,
      ],
    ] as const) {
      it(`evaluate: ${what} is refused when the policy loads: exit 2 naming the condition`, async () => {
        const file = await policyWith(`nested-${depth}`, condition);
        const run = await vouchChild(['policy', 'evaluate', '--policy', file, costly], env, 60_000);
        assert.equal(
          run.code,
          2,
          `exit ${run.code} ${run.signal} after ${run.ms} ms: ${run.stderr}`,
        );
        assert.match(
          run.stderr,
          new RegExp(
            `nested-${depth}\\.yaml: rules\\[0\\]\\.attestations\\[0\\]\\.condition \\(line 13, column 20\\): the CEL expression nests loops \\(all, exists, exists_one, map, filter\\) ${depth} deep; at most 2`,
          ),
        );
        assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      });
    }

    it('evaluate: a condition that loads but exceeds its budget denies the image (exit 1), at once', async () => {
      // Its estimate (for strings of 100 characters) is low, so it loads; but it
      // spreads a 1 MiB string into an array 1,000 times: half a minute unbounded.
      const file = await policyWith(
        'superlinear',
        'predicate.long.all(a, predicate.text.size() > 0)',
      );
      const run = await vouchChild(
        ['policy', 'evaluate', '--policy', file, '-o', 'json', costly],
        env,
        60_000,
      );
      assert.equal(run.code, 1, `exit ${run.code} ${run.signal} after ${run.ms} ms: ${run.stderr}`);
      const report = JSON.parse(run.stdout) as { images: Decision[] };
      const [decision] = report.images as [Decision];
      assert.equal(decision.result, 'denied');
      assert.equal(decision.attestations[0]?.status, 'denied');
      assert.match(
        decision.reason,
        /attestation scan: .*CONDITION_BUDGET_EXCEEDED: the evaluation was stopped at its budget of 50,000 cost units/,
      );
      assert.ok(run.ms < 20_000, `${run.ms} ms`);
    });
  });

  it('evaluate --record, then test replays the evidence (no registry involved)', async () => {
    const record = join(tmp, 'evidence.json');
    const run = await vouch(
      'policy',
      'evaluate',
      '--policy',
      policyFile,
      '--record',
      record,
      signed,
      badBuild,
    );
    assert.equal(run.code, 1);
    const evidence = JSON.parse(await readFile(record, 'utf8')) as {
      kind: string;
      images: Record<string, unknown>[];
    };
    assert.equal(evidence.kind, 'PolicyEvidence');
    (evidence.images[0] as Record<string, unknown>).expect = 'allowed';
    (evidence.images[1] as Record<string, unknown>).expect = 'denied';
    await writeFile(record, JSON.stringify(evidence));
    {
      const test = await vouch('policy', 'test', '--policy', policyFile, record);
      assert.equal(test.code, 0, test.stdout + test.stderr);
      assert.match(test.stdout, /2 of 2 expectations met/);
      (evidence.images[1] as Record<string, unknown>).expect = 'allowed';
      await writeFile(record, JSON.stringify(evidence));
      const failing = await vouch('policy', 'test', '--policy', policyFile, record);
      assert.equal(failing.code, 1);
      assert.match(failing.stdout, /FAIL: expected allowed, got denied/);
    }
  });

  it('check: every workload kind, image volumes, List, compose; table, JSON, SARIF, exit code, --fix', async () => {
    const dir = join(tmp, 'deploy');
    await mkdir(dir);
    const workloads = [
      'Deployment',
      'ReplicaSet',
      'StatefulSet',
      'DaemonSet',
      'Job',
      'ReplicationController',
    ]
      .map(
        (kind) => `---
apiVersion: apps/v1
kind: ${kind}
metadata: { name: ${kind.toLowerCase()} }
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: ${signed}   # keep this comment
      containers:
        - name: app
          image: "${signed}"
`,
      )
      .join('');
    const manifests = `apiVersion: v1
kind: Pod
metadata: { name: pod, namespace: prod }
spec:
  containers:
    - name: app
      image: ${attested}
  ephemeralContainers:
    - name: debug
      image: ${unsigned}
  volumes:
    - name: models
      image:
        reference: ${signed}
${workloads}---
apiVersion: batch/v1
kind: CronJob
metadata: { name: cron }
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - { name: c, image: '${signed}' }
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: { name: listed }
    spec:
      containers:
        - name: pause
          image: registry.k8s.io/pause:3.9
---
apiVersion: v1
kind: ConfigMap
metadata: { name: ignored }
data: { image: not-an-image }
`;
    await writeFile(join(dir, 'manifests.yaml'), manifests);
    await writeFile(
      join(dir, 'compose.yml'),
      `services:\n  web:\n    image: ${signed}\n  db:\n    image: ${unsigned}\n`,
    );

    const run = await vouch('policy', 'check', '--policy', policyFile, '-f', dir);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^IMAGE +LOCATION +DECISION +REASON$/);
    assert.equal(lines.length, 1 + 3 + 2 + 6 * 2 + 1 + 1);
    assert.match(
      run.stdout,
      new RegExp(
        `${unsigned.replace(/[.]/g, '\\.')} +.*compose\\.yml:5 +DENIED +rule acme: 0 of 1`,
      ),
    );
    assert.match(run.stdout, /manifests\.yaml:7 +allowed/);

    const json = await vouch(
      'policy',
      'check',
      '--policy',
      policyFile,
      '-f',
      join(dir, 'manifests.yaml'),
      '-o',
      'json',
    );
    const report = JSON.parse(json.stdout) as { allowed: boolean; images: Decision[] };
    assert.equal(report.allowed, false);
    assert.deepEqual(
      report.images.map((d) => d.result),
      ['allowed', 'denied', 'allowed', ...Array(12).fill('allowed'), 'allowed', 'allowed'],
    );
    assert.equal(report.images[1]?.line, 10);
    assert.equal(report.images[2]?.line, 14, 'the image volume is checked like a container');

    const sarif = await vouch(
      'policy',
      'check',
      '--policy',
      policyFile,
      '-f',
      join(dir, 'compose.yml'),
      '-o',
      'sarif',
    );
    assert.equal(sarif.code, 1);
    const log = JSON.parse(sarif.stdout) as {
      version: string;
      runs: [
        {
          results: Array<{
            ruleId: string;
            level: string;
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: string };
                  region: { startLine: number };
                };
              },
            ];
          }>;
        },
      ];
    };
    assert.equal(log.version, '2.1.0');
    assert.deepEqual(
      log.runs[0].results.map((r) => [
        r.ruleId,
        r.level,
        r.locations[0].physicalLocation.region.startLine,
      ]),
      [
        ['rule/acme', 'note', 3],
        ['rule/acme', 'error', 5],
      ],
    );
    assert.ok(
      log.runs[0].results[0]?.locations[0].physicalLocation.artifactLocation.uri.endsWith(
        'compose.yml',
      ),
    );

    const fix = await vouch(
      'policy',
      'check',
      '--policy',
      policyFile,
      '-f',
      join(dir, 'manifests.yaml'),
      '--fix',
    );
    assert.equal(fix.code, 1);
    const fixed = await readFile(join(dir, 'manifests.yaml'), 'utf8');
    const expected = manifests
      .replaceAll(`image: ${signed}   #`, `image: ${signed}@${digests.signed}   #`)
      .replaceAll(`image: "${signed}"`, `image: "${signed}@${digests.signed}"`)
      .replaceAll(`image: '${signed}'`, `image: '${signed}@${digests.signed}'`)
      .replace(`image: ${attested}`, `image: ${attested}@${digests.attested}`)
      .replace(`reference: ${signed}`, `reference: ${signed}@${digests.signed}`);
    assert.equal(fixed, expected);
  });

  it('check --fix: block scalars, CRLF and --- stay intact; a symlinked file is written through', async () => {
    const dir = join(tmp, 'fix-shapes');
    await mkdir(join(dir, 'real'), { recursive: true });
    await mkdir(join(dir, 'links'));
    const pod = (name: string, image: string, after = '') =>
      `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name} }\nspec:\n  containers:\n    - name: app\n      image: ${image}\n${after}`;
    const blocks = `${pod('a', `>-\n        ${signed}`, '      imagePullPolicy: Always\n')}---\n${pod('b', `|- # keep\n        ${attested}`)}---\n${pod('c', unsigned)}`;
    const pinnedBlocks = `${pod('a', `${signed}@${digests.signed}`, '      imagePullPolicy: Always\n')}---\n${pod('b', `${attested}@${digests.attested} # keep`)}---\n${pod('c', unsigned)}`;
    const real = join(dir, 'real', 'pods.yaml');
    await writeFile(real, blocks, { mode: 0o640 });
    // A directory of links, as some repositories keep one set of manifests for several places.
    await symlink(join('..', 'real', 'pods.yaml'), join(dir, 'links', 'pods.yaml'));
    const crlf = join(dir, 'crlf.yaml');
    await writeFile(crlf, blocks.replaceAll('\n', '\r\n'));
    const compose = join(dir, 'compose.yaml');
    const composeText = `x-image: &img ${signed}\nservices:\n  web:\n    image: *img\n  api:\n    image: ${signed}\n`;
    await writeFile(compose, composeText);

    const fix = await vouch(
      'policy',
      'check',
      '--policy',
      policyFile,
      '-f',
      join(dir, 'links'),
      '-f',
      crlf,
      '-f',
      compose,
      '--fix',
    );
    assert.equal(fix.code, 1, fix.stderr);
    assert.match(fix.stdout, /links\/pods\.yaml:7 +allowed/, 'the linked file is read');
    assert.match(fix.stdout, /pinned 5 image references to digests/);
    assert.equal(
      fix.stderr,
      `vouch: ${compose}:4: ${signed} not pinned: the anchor &img at line 1 is also used where it is written, which is no image; pinning would change it there too\n`,
    );
    assert.ok(
      (await lstat(join(dir, 'links', 'pods.yaml'))).isSymbolicLink(),
      'the link stays a link',
    );
    assert.equal(await readFile(real, 'utf8'), pinnedBlocks, 'its target is pinned');
    assert.equal((await stat(real)).mode & 0o777, 0o640, 'and keeps its mode');
    assert.equal(await readFile(crlf, 'utf8'), pinnedBlocks.replaceAll('\n', '\r\n'));
    assert.equal(
      await readFile(compose, 'utf8'),
      composeText.replace(`image: ${signed}\n`, `image: ${signed}@${digests.signed}\n`),
    );
    assert.deepEqual(
      [...(await readdir(dir)), ...(await readdir(join(dir, 'real')))].sort(),
      ['compose.yaml', 'crlf.yaml', 'links', 'pods.yaml', 'real'],
      'no temporary file is left behind',
    );
  });

  it('check reads stdin and refuses --fix on it', async () => {
    const run = await runVouch(['policy', 'check', '--policy', policyFile, '-f', '-'], {
      env,
      stdin: [`services:\n  web:\n    image: ${signed}\n`],
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /<stdin>:3 +allowed/);
    const fix = await vouch('policy', 'check', '--policy', policyFile, '-f', '-', '--fix');
    assert.equal(fix.code, 2);
  });
});
