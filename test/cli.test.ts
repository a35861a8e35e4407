/**
 * The CLI end to end on OCI layouts (no server): output formats, exit codes
 * for each error category, and help text. Commands run in-process through
 * `main`, plus one real process to check the bin entry point.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signatureTag } from '../src/formats/signature-manifest.ts';
import { encryptCosignKey } from '../src/keys/cosign-key.ts';
import { generateKeyPair } from '../src/keys/generate.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { digestHex } from '../src/oci/digest.ts';
import { openLayout } from '../src/registry/layout.ts';
import { runVouch } from './helpers/cli.ts';
import { type BuiltImage, buildImage, buildIndex } from './helpers/images.ts';

/** Runs the CLI in-process with these arguments and no DOCKER_CONFIG. */
const vouch = (...argv: string[]) => runVouch(argv);

describe('vouch CLI on OCI layouts', () => {
  let dir: string;
  let layout: string;
  let image: BuiltImage;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-cli-'));
    layout = join(dir, 'src');
    image = await buildIndex(await openLayout(layout, { create: true }), {
      tag: '1.0',
      architectures: ['amd64', 'arm64', 's390x'],
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('digest prints the digest of the tagged manifest', async () => {
    const run = await vouch('digest', `oci:${layout}:1.0`);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${image.descriptor.digest}\n`);
  });

  test('digest --output json describes each image', async () => {
    const run = await vouch(
      'digest',
      '--output',
      'json',
      `oci:${layout}:1.0`,
      `oci:${layout}@${image.descriptor.digest}`,
    );
    assert.equal(run.code, 0, run.stderr);
    const parsed = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    assert.equal(parsed.length, 2);
    for (const entry of parsed) {
      assert.equal(entry.digest, image.descriptor.digest);
      assert.equal(entry.mediaType, 'application/vnd.oci.image.index.v1+json');
      assert.equal(entry.size, image.bytes.byteLength);
    }
  });

  test('manifest writes the exact bytes, which hash to the digest', async () => {
    const run = await vouch('manifest', `oci:${layout}:1.0`);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, Buffer.from(image.bytes).toString('utf8'));
    assert.equal(
      `sha256:${createHash('sha256').update(run.stdout).digest('hex')}`,
      image.descriptor.digest,
    );
  });

  test('copy to a new layout keeps every digest and reports JSON', async () => {
    const target = join(dir, 'copy');
    const run = await vouch('copy', '--output', 'json', `oci:${layout}:1.0`, `oci:${target}:2.0`);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      digest: string;
      manifests: number;
      blobs: { copied: number };
    };
    assert.equal(report.digest, image.descriptor.digest);
    assert.equal(report.manifests, 4);
    assert.equal(report.blobs.copied, 9);
    assert.equal(
      (await vouch('digest', `oci:${target}:2.0`)).stdout,
      `${image.descriptor.digest}\n`,
    );
    const again = await vouch('copy', '--output', 'json', `oci:${layout}:1.0`, `oci:${target}:2.0`);
    assert.deepEqual((JSON.parse(again.stdout) as { blobs: unknown }).blobs, {
      copied: 0,
      mounted: 0,
      present: 9,
      'skipped-foreign': 0,
    });
  });

  test('a tampered blob in the source stops the copy with exit 1 and leaves nothing under that digest', async () => {
    const tampered = join(dir, 'tampered');
    await vouch('copy', `oci:${layout}:1.0`, `oci:${tampered}:1.0`);
    const layer = image.blobs[1];
    assert.ok(layer);
    const path = join(tampered, 'blobs', 'sha256', digestHex(layer.digest));
    const bytes = await readFile(path);
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    const target = join(dir, 'from-tampered');
    const run = await vouch('copy', `oci:${tampered}:1.0`, `oci:${target}:1.0`);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /DIGEST|hash/i);
    await assert.rejects(readFile(join(target, 'blobs', 'sha256', digestHex(layer.digest))), {
      code: 'ENOENT',
    });
    assert.equal(
      (await vouch('digest', `oci:${target}:1.0`)).code,
      2,
      'the tag must not exist at the destination',
    );
  });

  test('an unknown tag is invalid input (exit 2) and says where it looked', async () => {
    const run = await vouch('digest', `oci:${layout}:nope`);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /nope/);
    assert.match(run.stderr, new RegExp(layout.replaceAll('/', '\\/')));
  });

  test('a missing layout is invalid input (exit 2)', async () => {
    const run = await vouch('manifest', `oci:${join(dir, 'absent')}:1.0`);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /absent/);
  });

  test('a malformed reference is refused with the position of the fault', async () => {
    const run = await vouch('digest', 'registry.example.com/Team/app:1.0');
    assert.equal(run.code, 2);
    assert.match(run.stderr, /lowercase/);
    assert.match(run.stderr, /character 22/);
  });

  test('a registry host no URL can name is invalid input (exit 2), in text and in JSON', async () => {
    // These passed the reference grammar, then crashed building the
    // registry URL ("internal error: TypeError: Invalid URL", exit 3).
    const key = join(dir, 'cosign.pub');
    await writeFile(
      key,
      publicKeyToPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
    );
    const cases: [string, string][] = [
      ['127.0.0.1:99999/app:a', 'registry port 99999 is out of range (1-65535) (at character 11)'],
      [
        '999.999.999.999:5000/x',
        'IPv4 address "999.999.999.999" has a number above 255 ("999") (at character 1)',
      ],
      [
        '[1:2:3:4:5:6:7:8:9]:5000/x',
        'IPv6 address "1:2:3:4:5:6:7:8:9" has 9 groups; an IPv6 address has 8 (at character 2)',
      ],
    ];
    for (const [reference, reason] of cases) {
      const message = `invalid reference ${JSON.stringify(reference)}: ${reason}`;
      for (const command of [['digest'], ['manifest'], ['verify', '--key', key]]) {
        const text = await vouch(...command, reference);
        assert.equal(text.code, 2, `${command[0]} ${reference}: ${text.stderr}`);
        assert.equal(text.stderr, `vouch: ${message}\n`);
        assert.equal(text.stdout, '');
      }
      for (const command of [['digest'], ['verify', '--key', key]]) {
        for (const flag of [['-o', 'json'], ['--output', 'json'], ['--output=json'], ['-ojson']]) {
          const json = await vouch(...command, ...flag, reference);
          assert.equal(
            json.code,
            2,
            `${command[0]} ${flag.join(' ')} ${reference}: ${json.stderr}`,
          );
          assert.equal(json.stderr, `vouch: ${message}\n`);
          assert.deepEqual(JSON.parse(json.stdout), {
            error: { code: 'INVALID_REFERENCE', category: 'invalid', message },
          });
        }
      }
      // Only when JSON is asked for: text output, and a "json" that is not the format.
      assert.equal((await vouch('digest', '-o', 'text', reference)).stdout, '');
      assert.equal((await vouch('digest', reference, 'json')).stdout, '');
    }
  });

  test('usage errors exit 2', async () => {
    assert.equal((await vouch('digest')).code, 2);
    assert.equal((await vouch('copy', `oci:${layout}:1.0`)).code, 2);
    assert.equal((await vouch('digest', '--output', 'yaml', `oci:${layout}:1.0`)).code, 2);
    assert.equal((await vouch('digest', '--no-such-flag', `oci:${layout}:1.0`)).code, 2);
    assert.equal(
      (await vouch('manifest', `oci:${layout}`)).code,
      2,
      'a layout without tag names no manifest',
    );
    assert.equal(
      (await vouch('copy', `oci:${layout}:1.0`, `oci:${dir}/x@${image.descriptor.digest}`)).code,
      2,
    );
    const unknown = await vouch('frobnicate');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });

  test('help lists every command, and each command has its own help with an example', async () => {
    const run = await vouch('--help');
    assert.equal(run.code, 0);
    for (const name of ['digest', 'manifest', 'copy', 'login', 'logout']) {
      assert.match(run.stdout, new RegExp(`^  ${name} `, 'm'));
      const help = await vouch(name, '--help');
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`Usage: vouch ${name}`));
      assert.match(help.stdout, /vouch \w+ .+/);
    }
  });

  test('sign on a layout keeps the index.json members vouch does not know', async () => {
    const path = join(dir, 'foreign');
    const store = await openLayout(path, { create: true });
    const built = await buildImage(store);
    const { mediaType, digest, size } = built.descriptor;
    // As another tool might write it: extra members at the top and in the
    // entry, a platform field image-spec does not have, numbers in source form.
    const entry = `{"mediaType":"${mediaType}","digest":"${digest}","size":${size},"annotations":{"org.opencontainers.image.ref.name":"1.0","vendor.note":"x"},"platform":{"architecture":"amd64","os":"linux","features":["sse4"]},"x-built-by":{"tool":"other","n":1.0}}`;
    await writeFile(
      join(path, 'index.json'),
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[${entry}],"annotations":{"b":"2","a":"1"},"x-vendor":[12345678901234567890]}`,
    );
    const key = await generateKeyPair('ecdsa-p256');
    const keyFile = join(dir, 'foreign.key');
    await writeFile(keyFile, await encryptCosignKey(key.privateKey, 'pw', { scryptCost: 32768 }));
    const run = await runVouch(['sign', '--key', keyFile, `oci:${path}:1.0`], {
      env: { DOCKER_CONFIG: join(dir, 'no-docker'), VOUCH_PASSWORD: 'pw' },
    });
    assert.equal(run.code, 0, run.stderr);
    const signature = await store.resolve({ tag: signatureTag(digest) });
    assert.equal(
      await readFile(join(path, 'index.json'), 'utf8'),
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[${entry},{"mediaType":"${signature.mediaType}","digest":"${signature.digest}","size":${signature.size},"annotations":{"org.opencontainers.image.ref.name":"${signatureTag(digest)}"}}],"annotations":{"b":"2","a":"1"},"x-vendor":[12345678901234567890]}`,
    );
  });

  test('the bin entry point runs as a process and sets the exit code', () => {
    const bin = join(import.meta.dirname, '..', 'src', 'cli', 'bin.ts');
    const ok = spawnSync(process.execPath, [bin, 'digest', `oci:${layout}:1.0`], {
      encoding: 'utf8',
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, `${image.descriptor.digest}\n`);
    const bad = spawnSync(process.execPath, [bin, 'digest', `oci:${layout}:missing`], {
      encoding: 'utf8',
    });
    assert.equal(bad.status, 2);
  });
});

/**
 * A failure is said once: the report names the image, its status and the
 * error's code; the message itself is the one `vouch:` line on stderr. On a
 * terminal both streams land on one screen, which is where it used to appear
 * twice. script(1) from util-linux gives the CLI a pseudo-terminal.
 */
describe('each error is printed once', () => {
  const bin = join(import.meta.dirname, '..', 'src', 'cli', 'bin.ts');
  let dir: string;
  let layout: string;
  let keyFile: string;
  let publicKey: string;
  let predicate: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-cli-once-'));
    layout = join(dir, 'layout');
    await buildImage(await openLayout(layout, { create: true }), { tag: '1.0' });
    const key = await generateKeyPair('ecdsa-p256');
    keyFile = join(dir, 'k.key');
    publicKey = join(dir, 'k.pub');
    predicate = join(dir, 'predicate.json');
    await writeFile(keyFile, await encryptCosignKey(key.privateKey, 'pw', { scryptCost: 32768 }));
    await writeFile(publicKey, key.publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(predicate, '{"buildType":"x"}');
    env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      DOCKER_CONFIG: join(dir, 'no-docker'),
      VOUCH_PASSWORD: 'pw',
    };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

  /** The CLI with stdout and stderr on one pseudo-terminal: what a user sees. */
  function onTerminal(args: readonly string[]): SpawnSyncReturns<string> {
    const command = [process.execPath, bin, ...args].map(quote).join(' ');
    return spawnSync('script', ['-qec', command, '/dev/null'], { env, encoding: 'utf8' });
  }

  function onPipes(args: readonly string[]): SpawnSyncReturns<string> {
    return spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  }

  const count = (text: string, part: string) => text.split(part).length - 1;

  const cases = () => [
    {
      args: ['sign', '--key', keyFile, `oci:${layout}:nope`],
      code: 2,
      report: `oci:${layout}:nope: NOT SIGNED (MANIFEST_UNKNOWN)`,
      message: `vouch: oci:${layout}:nope: tag "nope" not found in oci:${layout}`,
      text: `tag "nope" not found in oci:${layout}`,
    },
    {
      args: [
        'attest',
        '--key',
        keyFile,
        '--type',
        'slsaprovenance1',
        '--predicate',
        predicate,
        `oci:${layout}:nope`,
      ],
      code: 2,
      report: `oci:${layout}:nope: NOT ATTESTED (MANIFEST_UNKNOWN)`,
      message: `vouch: oci:${layout}:nope: tag "nope" not found in oci:${layout}`,
      text: `tag "nope" not found in oci:${layout}`,
    },
    {
      args: ['verify', '--key', publicKey, `oci:${layout}:nope`],
      code: 2,
      report: `oci:${layout}:nope: invalid (MANIFEST_UNKNOWN)`,
      message: `vouch: tag "nope" not found in oci:${layout}`,
      text: `tag "nope" not found in oci:${layout}`,
    },
    {
      args: ['verify', '--key', publicKey, `oci:${layout}:1.0`],
      code: 1,
      report: `oci:${layout}:1.0: NOT VERIFIED (NO_SIGNATURES)`,
      message: `vouch: oci:${layout}:1.0: no signatures found for`,
      text: 'no signatures found for',
    },
    {
      args: [
        'verify-attestation',
        '--key',
        publicKey,
        '--type',
        'slsaprovenance1',
        `oci:${layout}:1.0`,
      ],
      code: 1,
      report: `oci:${layout}:1.0: NOT VERIFIED (NO_ATTESTATIONS)`,
      message: `vouch: oci:${layout}:1.0: no attestations found for`,
      text: 'no attestations found for',
    },
  ];

  test('on a terminal', () => {
    for (const { args, code, report, text } of cases()) {
      const run = onTerminal(args);
      assert.equal(run.status, code, `${args[0]}: ${run.stdout}${run.stderr}`);
      const screen = run.stdout.replaceAll('\r\n', '\n');
      assert.equal(count(screen, text), 1, `${args[0]}: ${screen}`);
      assert.equal(count(screen, report), 1, `${args[0]}: ${screen}`);
    }
  });

  test('on pipes: the message on stderr only, the report where it was', () => {
    for (const { args, code, report, message, text } of cases()) {
      const run = onPipes(args);
      assert.equal(run.status, code, `${args[0]}: ${run.stderr}`);
      const both = `${run.stdout}${run.stderr}`;
      assert.equal(count(both, text), 1, `${args[0]}: ${both}`);
      assert.equal(count(both, report), 1, `${args[0]}: ${both}`);
      assert.equal(count(run.stderr, message), 1, `${args[0]}: ${run.stderr}`);
    }
  });
});
