/**
 * `vouch trust` (the writing half of Docker Content Trust) against the real
 * peers: a notary-server (Debian's notary 0.7.0), a Distribution registry,
 * and the real `notary` CLI as the other client. Trust data vouch publishes
 * must be read by `notary list` / `notary lookup` from a fresh trust
 * directory (which catches any byte the server re-serialises differently),
 * and data the notary CLI published must be extended by vouch.
 */
import assert from 'node:assert/strict';
import {
  chmod,
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
import { digestHex } from '../src/oci/digest.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { runVouch } from './helpers/cli.ts';
import { buildImage } from './helpers/images.ts';
import { NotaryCli, type RunningNotaryServer, startNotaryServer } from './helpers/notary.ts';
import { freePort, type RunningRegistry, startRegistry } from './helpers/registry.ts';

const PASSPHRASES = {
  DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'vouch-root-pass',
  DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'vouch-repo-pass',
};

describe('vouch trust with notary-server and the notary CLI', () => {
  let registry: RunningRegistry;
  let notary: RunningNotaryServer;
  let reader: NotaryCli;
  let http: HttpClient;
  let scratch: string;
  let counter = 0;

  before(async () => {
    [registry, notary] = await Promise.all([startRegistry(), startNotaryServer()]);
    http = new HttpClient({ retries: 0 });
    scratch = await mkdtemp(join(tmpdir(), 'vouch-trust-test-'));
    reader = await NotaryCli.create(notary.url);
  });

  after(async () => {
    await http?.close();
    await Promise.all([
      registry?.stop(),
      notary?.stop(),
      reader?.remove(),
      rm(scratch, { recursive: true, force: true }),
    ]);
  });

  /** A vouch user: its own trust dir and a docker config dir (whose trust/ may be another client's). */
  async function user(dockerTrust?: string) {
    const home = await mkdtemp(join(scratch, 'user-'));
    const dockerConfig = join(home, 'docker');
    await mkdir(dockerConfig);
    if (dockerTrust !== undefined) await symlink(dockerTrust, join(dockerConfig, 'trust'));
    const trustDir = join(home, 'trust');
    const run = (args: readonly string[], env: Record<string, string> = PASSPHRASES) =>
      runVouch(['trust', ...args, '--notary-server', notary.url, '--trust-dir', trustDir], {
        env: { DOCKER_CONFIG: dockerConfig, ...env },
      });
    return { home, trustDir, run };
  }

  async function newImage(...tags: string[]) {
    const name = `trust/app${++counter}`;
    const gun = `${registry.host}/${name}`;
    const store = new RegistryClient(registry.host, { http }).repository(name);
    const images = [];
    for (const tag of tags) images.push((await buildImage(store, { tag })).descriptor);
    return { gun, store, images };
  }

  async function verify(reference: string) {
    const run = await runVouch([
      'verify',
      '--notary',
      '--notary-server',
      notary.url,
      '--trust-dir',
      await mkdtemp(join(scratch, 'verify-')),
      '-o',
      'json',
      reference,
    ]);
    return {
      ...run,
      report: JSON.parse(run.stdout) as {
        images: { status: string; digest: string; role: string; error: { code: string } | null }[];
      },
    };
  }

  it('initialises and signs a repository that notary list, notary lookup and vouch verify read', async () => {
    const { gun, images } = await newImage('v1', 'v2');
    const [v1, v2] = images as [(typeof images)[0], (typeof images)[0]];
    const alice = await user();
    const first = await alice.run(['sign', `${gun}:v1`]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Initialized trust data/);
    const second = await alice.run(['sign', `${gun}:v2`, '-o', 'json']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual((JSON.parse(second.stdout) as { roles: string[] }).roles, ['targets']);

    const list = await reader.run(['list', gun]);
    assert.match(list, new RegExp(`v1\\s+${digestHex(v1.digest)}\\s+${v1.size}\\s+targets`));
    assert.match(list, new RegExp(`v2\\s+${digestHex(v2.digest)}\\s+${v2.size}\\s+targets`));
    const lookup = await reader.run(['lookup', gun, 'v2']);
    assert.match(lookup, new RegExp(`v2 ${v2.digest} ${v2.size}`));

    const verified = await verify(`${gun}:v1`);
    assert.equal(verified.code, 0, verified.stdout);
    assert.equal(verified.report.images[0]?.digest, v1.digest);

    // Keys: root without a gun header, targets with one, both 0600 in a 0700 directory.
    const privateDir = join(alice.trustDir, 'private');
    assert.equal((await stat(privateDir)).mode & 0o777, 0o700);
    const files = await readdir(privateDir);
    assert.equal(files.length, 2);
    const texts = await Promise.all(files.map((file) => readFile(join(privateDir, file), 'utf8')));
    for (const file of files)
      assert.equal((await stat(join(privateDir, file))).mode & 0o777, 0o600);
    assert.ok(
      texts.some((text) => /^-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\n/.test(text)),
    );
    assert.ok(texts.some((text) => text.includes(`gun: ${gun}\nrole: targets\n\n`)));

    // revoke: the tag leaves the trust data, verify fails, the notary CLI no longer lists it.
    const revoked = await alice.run(['revoke', `${gun}:v1`]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const after = await verify(`${gun}:v1`);
    assert.equal(after.code, 1);
    assert.equal(after.report.images[0]?.error?.code, 'NOTARY_TARGET_NOT_FOUND');
    const listed = await reader.run(['list', gun]);
    assert.doesNotMatch(listed, /^v1\s/m);
    assert.match(listed, /^v2\s/m);
    // Revoking it again: nothing to revoke (exit 2).
    const again = await alice.run(['revoke', `${gun}:v1`]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /no signature/);
  });

  it('adds a tag to a repository the notary CLI initialised, with the keys notary made', async () => {
    const { gun, images } = await newImage('v1', 'v2');
    const [v1, v2] = images as [(typeof images)[0], (typeof images)[0]];
    const publisher = await NotaryCli.create(notary.url);
    try {
      await publisher.run(['init', '-p', gun]);
      await publisher.run([
        'addhash',
        '-p',
        gun,
        'v1',
        String(v1.size),
        '--sha256',
        digestHex(v1.digest),
      ]);
      // vouch reads notary's key directory as docker's (~/.docker/trust), and notary's passphrase variables.
      const bob = await user(publisher.trustDir);
      const signed = await bob.run(['sign', `${gun}:v2`], {
        NOTARY_TARGETS_PASSPHRASE: 'targets-passphrase',
        NOTARY_SNAPSHOT_PASSPHRASE: 'snapshot-passphrase',
      });
      assert.equal(signed.code, 0, signed.stderr);
      assert.doesNotMatch(signed.stdout, /Initialized/);
      const list = await publisher.run(['list', gun]);
      assert.match(list, new RegExp(`v1\\s+${digestHex(v1.digest)}`));
      assert.match(list, new RegExp(`v2\\s+${digestHex(v2.digest)}\\s+${v2.size}\\s+targets`));
      assert.equal((await verify(`${gun}:v2`)).code, 0);

      // A wrong passphrase is the caller's mistake (exit 2), and nothing is published.
      const wrong = await bob.run(['revoke', `${gun}:v2`], {
        NOTARY_TARGETS_PASSPHRASE: 'not-it',
        NOTARY_SNAPSHOT_PASSPHRASE: 'snapshot-passphrase',
      });
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /wrong passphrase/);
      assert.match(await publisher.run(['list', gun]), /^v2\s/m);
    } finally {
      await publisher.remove();
    }
  });

  it('signer add puts later signatures in targets/releases, and inspect shows the signer', async () => {
    const { gun, images } = await newImage('v1');
    const [v1] = images as [(typeof images)[0]];
    const admin = await user();
    const generated = await admin.run([
      'key',
      'generate',
      'carol',
      '--dir',
      admin.home,
      '-o',
      'json',
    ]);
    assert.equal(generated.code, 0, generated.stderr);
    const carolKey = (JSON.parse(generated.stdout) as { keyId: string }).keyId;
    const pub = await readFile(join(admin.home, 'carol.pub'), 'utf8');
    assert.match(pub, /^-----BEGIN PUBLIC KEY-----\nrole: carol\n\n/);
    const added = await admin.run([
      'signer',
      'add',
      '--key',
      join(admin.home, 'carol.pub'),
      'carol',
      gun,
    ]);
    assert.equal(added.code, 0, added.stderr);
    const signed = await admin.run(['sign', `${gun}:v1`, '-o', 'json']);
    assert.equal(signed.code, 0, signed.stderr);
    assert.deepEqual((JSON.parse(signed.stdout) as { roles: string[] }).roles, [
      'targets/releases',
      'targets/carol',
    ]);
    assert.match(
      await reader.run(['list', gun]),
      new RegExp(`v1\\s+${digestHex(v1.digest)}\\s+${v1.size}\\s+targets/(releases|carol)`),
    );
    const verified = await verify(`${gun}:v1`);
    assert.equal(verified.code, 0, verified.stdout);
    assert.equal(verified.report.images[0]?.role, 'targets/releases');

    const inspected = await admin.run(['inspect', `${gun}:v1`]);
    assert.equal(inspected.code, 0, inspected.stderr);
    const [report] = JSON.parse(inspected.stdout) as {
      Name: string;
      SignedTags: { SignedTag: string; Digest: string; Signers: string[] }[];
      Signers: { Name: string; Keys: { ID: string }[] }[];
      AdministrativeKeys: { Name: string; Keys: { ID: string }[] }[];
    }[];
    assert.equal(report?.Name, `${gun}:v1`);
    assert.deepEqual(report?.SignedTags, [
      { SignedTag: 'v1', Digest: digestHex(v1.digest), Signers: ['carol'] },
    ]);
    assert.deepEqual(report?.Signers, [{ Name: 'carol', Keys: [{ ID: carolKey }] }]);
    assert.deepEqual(
      report?.AdministrativeKeys.map((role) => role.Name),
      ['Root', 'Repository'],
    );
    const pretty = await admin.run(['inspect', '--pretty', gun]);
    assert.match(
      pretty.stdout,
      new RegExp(
        `Signatures for ${gun}\\n\\nSIGNED TAG\\s+DIGEST\\s+SIGNERS\\nv1\\s+${digestHex(v1.digest)}\\s+carol\\n`,
      ),
    );
    assert.match(
      pretty.stdout,
      /List of signers and their keys for .*\n\nSIGNER\s+KEYS\ncarol\s+[0-9a-f]{12}\n/,
    );
    assert.match(
      pretty.stdout,
      /Administrative keys for .*\n\n {2}Repository Key:\t[0-9a-f]{64}\n {2}Root Key:\t[0-9a-f]{64}\n$/,
    );

    // signer remove: the last key of targets/releases cannot go; with another signer it can.
    const refused = await admin.run(['signer', 'remove', 'carol', gun]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /last key of targets\/releases/);
    assert.equal((await admin.run(['key', 'generate', 'dave', '--dir', admin.home])).code, 0);
    const dave = await admin.run([
      'signer',
      'add',
      '--key',
      join(admin.home, 'dave.pub'),
      'dave',
      gun,
    ]);
    assert.equal(dave.code, 0, dave.stderr);
    const removed = await admin.run(['signer', 'remove', 'carol', gun]);
    assert.equal(removed.code, 0, removed.stderr);
    const [afterRemoval] = JSON.parse((await admin.run(['inspect', gun])).stdout) as {
      Signers: { Name: string }[];
    }[];
    assert.deepEqual(
      afterRemoval?.Signers.map((signer) => signer.Name),
      ['dave'],
    );
    const unknownSigner = await admin.run(['signer', 'remove', 'carol', gun]);
    assert.equal(unknownSigner.code, 2);
  });

  it('loads a delegation key the notary CLI generated and signs with it into targets/releases', async () => {
    const { gun, images } = await newImage('v1');
    const [v1] = images as [(typeof images)[0]];
    const admin = await user();
    const keys = await NotaryCli.create(notary.url);
    try {
      await keys.run([
        'key',
        'generate',
        'ecdsa',
        '--role',
        'releases',
        '-o',
        join(keys.trustDir, 'releases'),
      ]);
      const privateFile = join(keys.trustDir, 'releases-key.pem');
      assert.match(
        await readFile(privateFile, 'utf8'),
        /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n(?:.*\n)*role: releases\n/,
      );
      await chmod(privateFile, 0o600);
      const wrong = await admin.run(['key', 'load', privateFile, '--name', 'ops'], {
        DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'nope',
      });
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /wrong passphrase/);
      const loaded = await admin.run(['key', 'load', privateFile, '--name', 'ops'], {
        ...PASSPHRASES,
        DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'delegation-passphrase',
      });
      assert.equal(loaded.code, 0, loaded.stderr);
      // Stored again in vouch's trust dir, under the signer's name.
      const stored = await readdir(join(admin.trustDir, 'private'));
      assert.equal(stored.length, 1);
      assert.match(
        await readFile(join(admin.trustDir, 'private', stored[0] as string), 'utf8'),
        /role: ops\n/,
      );
      const added = await admin.run([
        'signer',
        'add',
        '--key',
        join(keys.trustDir, 'releases.pem'),
        'ops',
        gun,
      ]);
      assert.equal(added.code, 0, added.stderr);
      const signed = await admin.run(['sign', `${gun}:v1`], {
        ...PASSPHRASES,
        DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'delegation-passphrase',
      });
      assert.equal(signed.code, 0, signed.stderr);
      assert.match(signed.stdout, /into targets\/releases, targets\/ops/);
      assert.match(
        await reader.run(['lookup', gun, 'v1']),
        new RegExp(`v1 ${v1.digest} ${v1.size}`),
      );
      const verified = await verify(`${gun}:v1`);
      assert.equal(verified.report.images[0]?.role, 'targets/releases');
    } finally {
      await keys.remove();
    }
  });

  it('inspect prints what docker trust inspect prints: [] and exit 1 without trust data, the references found, (Repo Admin)', async () => {
    // docker/cli v28.2.2 cli/command/trust/inspect.go (runInspect, getRepoTrustInfo),
    // inspect_pretty.go and cli/command/inspect/inspector.go (Inspect, jsonInspector.Flush).
    const { gun, images } = await newImage('v1');
    const [v1] = images as [(typeof images)[0]];
    const { gun: empty } = await newImage('v1');
    const admin = await user();
    assert.equal((await admin.run(['sign', `${gun}:v1`])).code, 0);
    const keys = JSON.parse((await admin.run(['inspect', gun])).stdout) as {
      AdministrativeKeys: { Keys: { ID: string }[] }[];
    }[];
    const [rootKey, targetsKey] = keys[0]?.AdministrativeKeys.map((role) => role.Keys[0]?.ID) ?? [];
    assert.ok(rootKey !== undefined && targetsKey !== undefined);
    const signed = `${gun}:v1`;
    const digest = digestHex(v1.digest);

    // https://github.com/docker/cli/blob/v28.2.2/cli/command/trust/testdata/trust-inspect-one-tag-no-signers.golden
    const json = [
      '[',
      '    {',
      `        "Name": "${signed}",`,
      '        "SignedTags": [',
      '            {',
      '                "SignedTag": "v1",',
      `                "Digest": "${digest}",`,
      '                "Signers": [',
      '                    "Repo Admin"',
      '                ]',
      '            }',
      '        ],',
      '        "Signers": [],',
      '        "AdministrativeKeys": [',
      '            {',
      '                "Name": "Root",',
      '                "Keys": [',
      '                    {',
      `                        "ID": "${rootKey}"`,
      '                    }',
      '                ]',
      '            },',
      '            {',
      '                "Name": "Repository",',
      '                "Keys": [',
      '                    {',
      `                        "ID": "${targetsKey}"`,
      '                    }',
      '                ]',
      '            }',
      '        ]',
      '    }',
      ']',
      '',
    ].join('\n');
    const one = await admin.run(['inspect', signed]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, json);

    // https://github.com/docker/cli/blob/v28.2.2/cli/command/trust/testdata/trust-inspect-pretty-one-tag-no-signers.golden
    const pretty =
      `\nSignatures for ${signed}\n\n` +
      `${'SIGNED TAG'.padEnd(13)}${'DIGEST'.padEnd(67)}SIGNERS\n` +
      `${'v1'.padEnd(13)}${digest}   (Repo Admin)\n` +
      `\nAdministrative keys for ${signed}\n\n` +
      `  Repository Key:\t${targetsKey}\n` +
      `  Root Key:\t${rootKey}\n`;
    const prettyRun = await admin.run(['inspect', '--pretty', signed]);
    assert.equal(prettyRun.code, 0, prettyRun.stderr);
    assert.equal(prettyRun.stdout, pretty);

    // No trust data: `[]` (trust-inspect-uninitialized.golden), exit 1.
    const none = await admin.run(['inspect', empty]);
    assert.equal(none.stdout, '[]\n');
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, new RegExp(`no signatures or cannot access ${empty}`));

    // Several references: the ones found are printed, in order; exit 1 for the other.
    for (const references of [
      [signed, empty],
      [empty, signed],
    ]) {
      const some = await admin.run(['inspect', ...references]);
      assert.equal(some.stdout, json, references.join(' '));
      assert.equal(some.code, 1);
      assert.match(some.stderr, new RegExp(`no signatures or cannot access ${empty}`));
    }

    // --pretty stops at the first reference it cannot inspect, as docker's loop does.
    const prettyFirst = await admin.run(['inspect', '--pretty', signed, empty]);
    assert.equal(prettyFirst.stdout, `${pretty}\n\n`);
    assert.equal(prettyFirst.code, 1);
    const prettyEmptyFirst = await admin.run(['inspect', '--pretty', empty, signed]);
    assert.equal(prettyEmptyFirst.stdout, '');
    assert.equal(prettyEmptyFirst.code, 1);
  });

  it("inspect lists a tag's signers in notary's walk order in JSON, sorted in --pretty, as docker does", async () => {
    // docker/cli v28.2.2 cli/command/trust/common.go matchReleasedSignatures appends signers in
    // the order notary's GetAllTargetMetadataByName walks the delegations (breadth-first, as
    // targets.json lists them); only the --pretty formatter sorts them (formatter.go Signers).
    const { gun } = await newImage('v1');
    const admin = await user();
    for (const name of ['zed', 'alice']) {
      assert.equal((await admin.run(['key', 'generate', name, '--dir', admin.home])).code, 0);
      const added = await admin.run([
        'signer',
        'add',
        '--key',
        join(admin.home, `${name}.pub`),
        name,
        gun,
      ]);
      assert.equal(added.code, 0, added.stderr);
    }
    // targets.json now delegates releases, zed, alice, in that order (signer add appends).
    const signed = await admin.run(['sign', `${gun}:v1`]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, /into targets\/releases, targets\/alice, targets\/zed\n/);
    const [report] = JSON.parse((await admin.run(['inspect', `${gun}:v1`])).stdout) as {
      SignedTags: { Signers: string[] }[];
    }[];
    assert.deepEqual(report?.SignedTags[0]?.Signers, ['zed', 'alice']);
    const pretty = await admin.run(['inspect', '--pretty', `${gun}:v1`]);
    assert.match(pretty.stdout, /\nv1 +[0-9a-f]{64} {3}alice, zed\n/);
  });

  it('rotates the targets, snapshot, timestamp and root keys; both clients follow', async () => {
    const { gun, images } = await newImage('v1');
    const [v1] = images as [(typeof images)[0]];
    const admin = await user();
    assert.equal((await admin.run(['sign', `${gun}:v1`])).code, 0);
    const before = await verify(`${gun}:v1`);
    assert.equal(before.code, 0);
    const cached = await mkdtemp(join(scratch, 'cached-'));
    const cachedVerify = () =>
      runVouch([
        'verify',
        '--notary',
        '--notary-server',
        notary.url,
        '--trust-dir',
        cached,
        `${gun}:v1`,
      ]);
    assert.equal((await cachedVerify()).code, 0);
    assert.match(await reader.run(['list', gun]), /^v1\s/m);
    for (const role of ['targets', 'snapshot', 'timestamp']) {
      const rotated = await admin.run(['key', 'rotate', gun, role]);
      assert.equal(rotated.code, 0, `${role}: ${rotated.stderr}`);
      const verified = await cachedVerify();
      assert.equal(verified.code, 0, `${role}: ${verified.stdout}`);
      assert.match(await reader.run(['list', gun]), new RegExp(`v1\\s+${digestHex(v1.digest)}`));
    }
    const adminKeys = async () =>
      (
        JSON.parse((await admin.run(['inspect', gun])).stdout) as {
          AdministrativeKeys: { Name: string; Keys: { ID: string }[] }[];
        }[]
      )[0]?.AdministrativeKeys.map((role) => role.Keys[0]?.ID);
    const [rootBefore] = (await adminKeys()) ?? [];
    const root = await admin.run(['key', 'rotate', gun, 'root']);
    assert.equal(root.code, 0, root.stderr);
    assert.equal((await cachedVerify()).code, 0);
    assert.match(await reader.run(['list', gun]), new RegExp(`v1\\s+${digestHex(v1.digest)}`));
    const [rootAfter] = (await adminKeys()) ?? [];
    assert.ok(rootBefore !== undefined && rootAfter !== undefined && rootBefore !== rootAfter);
  });

  it('migrates the tags that verify through DCT to cosign signatures; --dry-run writes nothing', async () => {
    const { gun, store, images } = await newImage('v1', 'v2', 'unsigned');
    const admin = await user();
    for (const tag of ['v1', 'v2'])
      assert.equal((await admin.run(['sign', `${gun}:${tag}`])).code, 0);
    const keyPrefix = join(admin.home, 'cosign');
    const cosignEnv = { VOUCH_PASSWORD: 'cosign-pass', DOCKER_CONFIG: join(admin.home, 'docker') };
    const generated = await runVouch(['generate-key-pair', '--output-key-prefix', keyPrefix], {
      env: cosignEnv,
    });
    assert.equal(generated.code, 0, generated.stderr);
    const migrate = (...flags: string[]) =>
      admin.run(['migrate', gun, '--key', `${keyPrefix}.key`, '-o', 'json', ...flags], {
        ...PASSPHRASES,
        VOUCH_PASSWORD: 'cosign-pass',
      });
    const verifyCosign = (tag: string) =>
      runVouch(['verify', '--key', `${keyPrefix}.pub`, '-o', 'json', `${gun}:${tag}`], {
        env: cosignEnv,
      });

    const dry = await migrate('--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    const planned = JSON.parse(dry.stdout) as {
      dryRun: boolean;
      tags: { tag: string; status: string }[];
    };
    assert.equal(planned.dryRun, true);
    assert.deepEqual(
      planned.tags.map((t) => [t.tag, t.status]),
      [
        ['v1', 'migrated'],
        ['v2', 'migrated'],
      ],
    );
    const tagsBefore = await store.listTags();
    assert.ok(!tagsBefore.some((tag) => tag.endsWith('.sig')), tagsBefore.join(','));
    assert.equal((await verifyCosign('v1')).code, 1);

    const real = await migrate();
    assert.equal(real.code, 0, real.stderr);
    const done = JSON.parse(real.stdout) as {
      tags: { tag: string; status: string; digest: string }[];
    };
    assert.deepEqual(
      done.tags.map((t) => [t.tag, t.status, t.digest]),
      [
        ['v1', 'migrated', images[0]?.digest],
        ['v2', 'migrated', images[1]?.digest],
      ],
    );
    for (const tag of ['v1', 'v2']) assert.equal((await verifyCosign(tag)).code, 0, tag);
    assert.equal((await verifyCosign('unsigned')).code, 1);

    // A tag whose trust data points elsewhere than the registry's tag is skipped, with why.
    await buildImage(store, { tag: 'v2' });
    const skipped = await migrate();
    const entries = (
      JSON.parse(skipped.stdout) as {
        tags: { tag: string; status: string; reason?: { code: string } }[];
      }
    ).tags;
    assert.deepEqual(
      entries.find((t) => t.tag === 'v2'),
      { tag: 'v2', status: 'skipped', reason: entries.find((t) => t.tag === 'v2')?.reason },
    );
    assert.equal(entries.find((t) => t.tag === 'v2')?.reason?.code, 'NOTARY_DIGEST_MISMATCH');
  });

  it('refuses bad input and reports a server that is down', async () => {
    const { gun } = await newImage('v1');
    const admin = await user();
    const unknown = await admin.run(['sign', `${gun}:nope`]);
    assert.equal(unknown.code, 2, unknown.stderr);
    const noPassphrase = await admin.run(['sign', `${gun}:v1`], {});
    assert.equal(noPassphrase.code, 2);
    assert.match(noPassphrase.stderr, /DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE/);
    const port = await freePort();
    const down = await runVouch(
      [
        'trust',
        'sign',
        `${gun}:v1`,
        '--notary-server',
        `http://127.0.0.1:${port}`,
        '--trust-dir',
        admin.trustDir,
      ],
      { env: { ...PASSPHRASES, DOCKER_CONFIG: join(admin.home, 'docker') } },
    );
    assert.equal(down.code, 3, down.stderr);
    const usage = await admin.run(['sign', gun]);
    assert.equal(usage.code, 2);
    const badName = await admin.run(['key', 'generate', 'Bad/Name']);
    assert.equal(badName.code, 2);
    await writeFile(join(admin.home, 'loose.key'), 'x', { mode: 0o644 });
    const loose = await admin.run(['key', 'load', join(admin.home, 'loose.key'), '--name', 'x']);
    assert.equal(loose.code, 2);
    assert.match(loose.stderr, /readable by others/);
  });
});
