/**
 * The key commands end to end, in-process: generate-key-pair, import-key-pair
 * and public-key, with passwords from the environment, a file and a (fake)
 * terminal, and the CLI helpers the sign command reuses.
 */
import assert from 'node:assert/strict';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { main } from '../src/cli/main.ts';
import { loadSigningKey, passwordSource } from '../src/cli/password.ts';
import { keyAlgorithm } from '../src/keys/algorithms.ts';
import { decryptCosignKey } from '../src/keys/cosign-key.ts';
import { GENERATE_ALGORITHMS } from '../src/keys/generate.ts';
import { loadPrivateKey } from '../src/keys/load.ts';
import { parsePublicKeyPem, privateKeyToPem } from '../src/keys/pem.ts';
import { verifySignature } from '../src/keys/signer.ts';
import { NO_DOCKER_CONFIG, runVouch } from './helpers/cli.ts';

const PASSWORD = 'correct horse';

/** The environment with only this password variable (or none). */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return { DOCKER_CONFIG: NO_DOCKER_CONFIG, ...extra };
}

const withPassword = (password = PASSWORD) => ({ env: env({ VOUCH_PASSWORD: password }) });

function spki(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({
    format: 'der',
    type: 'spki',
  });
}

/** Decrypts `prefix.key` with `password` and checks `prefix.pub` is its public key. */
async function loadPair(prefix: string, password: string | Uint8Array): Promise<KeyObject> {
  const privateKey = await decryptCosignKey(await readFile(`${prefix}.key`), password);
  const publicKey = parsePublicKeyPem(await readFile(`${prefix}.pub`));
  assert.deepEqual(spki(privateKey), spki(publicKey));
  return privateKey;
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/** Runs the CLI with a stdin that claims to be a terminal and delivers `typed`. */
async function runOnTerminal(argv: readonly string[], typed: readonly string[]) {
  const chunks: Buffer[] = [];
  const stderr = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  const stdin = Object.assign(Readable.from(typed), { isTTY: true, setRawMode: () => stdin });
  const code = await main(argv, {
    env: env(),
    stdin,
    stdout: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
    stderr,
  });
  return { code, stderr: Buffer.concat(chunks).toString('utf8') };
}

/**
 * Runs `fn` with `directory` as the working directory. Tests run concurrently
 * and every other test uses absolute paths; this lock keeps the tests that
 * need a working directory (default prefixes) from overlapping.
 */
let cwdLock: Promise<unknown> = Promise.resolve();
function inDirectory<T>(directory: string, fn: () => Promise<T>): Promise<T> {
  const run = cwdLock.then(async () => {
    const cwd = process.cwd();
    process.chdir(directory);
    try {
      return await fn();
    } finally {
      process.chdir(cwd);
    }
  });
  cwdLock = run.catch(() => undefined);
  return run;
}

describe('vouch key commands', { concurrency: true }, () => {
  let dir: string;
  let index = 0;
  /** A fresh subdirectory per test. */
  const fresh = async (): Promise<string> => {
    const path = join(dir, String(index++));
    await mkdir(path);
    return path;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-keys-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('generate-key-pair writes a loadable pair for every algorithm', async () => {
    const base = await fresh();
    // All at once: RSA-4096 generation dominates, and it runs only here.
    const runs = await Promise.all(
      GENERATE_ALGORITHMS.map((algorithm) =>
        runVouch(
          [
            'generate-key-pair',
            '--algorithm',
            algorithm,
            '--output-key-prefix',
            join(base, algorithm),
            '--output',
            'json',
          ],
          withPassword(),
        ),
      ),
    );
    for (const [position, algorithm] of GENERATE_ALGORITHMS.entries()) {
      const run = runs[position];
      assert.ok(run);
      assert.equal(run.code, 0, run.stderr);
      const prefix = join(base, algorithm);
      const privateKey = await loadPair(prefix, PASSWORD);
      assert.equal(keyAlgorithm(privateKey), algorithm);
      const keyPem = await readFile(`${prefix}.key`, 'utf8');
      assert.match(keyPem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
      assert.equal(await mode(`${prefix}.key`), 0o600);
      const report = JSON.parse(run.stdout) as Record<string, string>;
      assert.deepEqual(report, {
        privateKey: `${prefix}.key`,
        publicKey: `${prefix}.pub`,
        algorithm,
        fingerprint: createHash('sha256').update(spki(privateKey)).digest('hex'),
      });

      const shown = await runVouch(['public-key', '--key', `${prefix}.key`], withPassword());
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal(shown.stdout, await readFile(`${prefix}.pub`, 'utf8'));
    }
  });

  test('text output names both files on stderr; the default prefix is cosign', async () => {
    const base = await fresh();
    const run = await inDirectory(base, () => runVouch(['generate-key-pair'], withPassword()));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /Private key written to cosign\.key\nPublic key written to cosign\.pub/,
    );
    assert.equal(keyAlgorithm(await loadPair(join(base, 'cosign'), PASSWORD)), 'ecdsa-p256');
    assert.deepEqual((await readdir(base)).sort(), ['cosign.key', 'cosign.pub']);
  });

  test('never overwrites without --force; --force replaces both files', async () => {
    const prefix = join(await fresh(), 'k');
    const argv = ['generate-key-pair', '--output-key-prefix', prefix];
    assert.equal((await runVouch(argv, withPassword())).code, 0);
    const key = await readFile(`${prefix}.key`);
    const pub = await readFile(`${prefix}.pub`);

    const again = await runVouch(argv, withPassword());
    assert.equal(again.code, 2);
    assert.match(again.stderr, /k\.key already exists; not overwriting it \(use --force/);
    assert.deepEqual(await readFile(`${prefix}.key`), key);
    assert.deepEqual(await readFile(`${prefix}.pub`), pub);

    // Only the .pub in the way: still refused, and no .key left behind.
    const other = join(await fresh(), 'k');
    await writeFile(`${other}.pub`, 'mine');
    const blocked = await runVouch(
      ['generate-key-pair', '--output-key-prefix', other],
      withPassword(),
    );
    assert.equal(blocked.code, 2);
    assert.match(blocked.stderr, /k\.pub already exists/);
    assert.equal(await readFile(`${other}.pub`, 'utf8'), 'mine');
    await assert.rejects(stat(`${other}.key`), { code: 'ENOENT' });

    const forced = await runVouch([...argv, '--force'], withPassword('new password'));
    assert.equal(forced.code, 0, forced.stderr);
    assert.notDeepEqual(await readFile(`${prefix}.key`), key);
    assert.notDeepEqual(await readFile(`${prefix}.pub`), pub);
    assert.equal(await mode(`${prefix}.key`), 0o600);
    await loadPair(prefix, 'new password');
    // No temporary files are left beside the pair.
    assert.deepEqual((await readdir(join(prefix, '..'))).sort(), ['k.key', 'k.pub']);
  });

  test('a prefix in a directory that does not exist is refused', async () => {
    const base = await fresh();
    const run = await runVouch(
      ['generate-key-pair', '--output-key-prefix', join(base, 'missing', 'k')],
      withPassword(),
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, /directory .*missing does not exist/);
    assert.deepEqual(await readdir(base), []);
  });

  test('bad flags are usage errors', async () => {
    const base = await fresh();
    for (const argv of [
      ['generate-key-pair', '--algorithm', 'ecdsa-p521'],
      ['generate-key-pair', '--algorithm', 'rsa-1024'],
      ['generate-key-pair', 'extra'],
      ['generate-key-pair', '--password', 'x'],
      ['generate-key-pair', '--output', 'yaml'],
      ['import-key-pair'],
      ['public-key'],
    ]) {
      const run = await runVouch(
        argv.map((arg) => (arg === 'extra' ? join(base, 'extra') : arg)),
        withPassword(),
      );
      assert.equal(run.code, 2, `${argv.join(' ')}: ${run.stderr}`);
    }
    assert.deepEqual(await readdir(base), []);
  });

  test('COSIGN_PASSWORD is the fallback; VOUCH_PASSWORD wins; empty means empty', async () => {
    const base = await fresh();
    const generate = (name: string, extra: Record<string, string>) =>
      runVouch(['generate-key-pair', '--output-key-prefix', join(base, name)], {
        env: env(extra),
      });
    assert.equal((await generate('cosign', { COSIGN_PASSWORD: 'from cosign' })).code, 0);
    await loadPair(join(base, 'cosign'), 'from cosign');

    const both = await generate('both', { VOUCH_PASSWORD: 'vouch', COSIGN_PASSWORD: 'cosign' });
    assert.equal(both.code, 0);
    await loadPair(join(base, 'both'), 'vouch');

    assert.equal((await generate('empty', { COSIGN_PASSWORD: '' })).code, 0);
    await loadPair(join(base, 'empty'), '');

    // And for reading: COSIGN_PASSWORD decrypts for public-key.
    const shown = await runVouch(['public-key', '--key', join(base, 'cosign.key')], {
      env: env({ COSIGN_PASSWORD: 'from cosign' }),
    });
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout, await readFile(join(base, 'cosign.pub'), 'utf8'));
  });

  test('--password-file: the first line, before any environment variable', async () => {
    const base = await fresh();
    const file = join(base, 'pw');
    await writeFile(file, 'from file\r\nsecond line\n');
    const prefix = join(base, 'k');
    const run = await runVouch(
      ['generate-key-pair', '--output-key-prefix', prefix, '--password-file', file],
      { env: env({ VOUCH_PASSWORD: 'not this', COSIGN_PASSWORD: 'nor this' }) },
    );
    assert.equal(run.code, 0, run.stderr);
    await loadPair(prefix, 'from file');

    // Bytes are taken as they are, not decoded.
    const binary = join(base, 'binary');
    const secret = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    await writeFile(binary, Buffer.concat([secret, Buffer.from('\n')]));
    const raw = await runVouch(
      ['generate-key-pair', '--output-key-prefix', join(base, 'raw'), '--password-file', binary],
      { env: env() },
    );
    assert.equal(raw.code, 0, raw.stderr);
    await loadPair(join(base, 'raw'), secret);

    const shown = await runVouch(
      ['public-key', '--key', `${prefix}.key`, '--password-file', file],
      { env: env() },
    );
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout, await readFile(`${prefix}.pub`, 'utf8'));

    const missing = await runVouch(
      [
        'generate-key-pair',
        '--output-key-prefix',
        join(base, 'x'),
        '--password-file',
        join(base, 'nope'),
      ],
      { env: env() },
    );
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read --password-file/);
    await assert.rejects(stat(join(base, 'x.key')), { code: 'ENOENT' });
  });

  test('no password and no terminal: PASSWORD_REQUIRED, exit 2, nothing written', async () => {
    const base = await fresh();
    const prefix = join(base, 'k');
    const run = await runVouch(['generate-key-pair', '--output-key-prefix', prefix], {
      env: env(),
    });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no password was given/);
    assert.match(run.stderr, /VOUCH_PASSWORD/);
    assert.match(run.stderr, /--password-file/);
    assert.deepEqual(await readdir(base), []);

    assert.equal(
      (await runVouch(['generate-key-pair', '--output-key-prefix', prefix], withPassword())).code,
      0,
    );
    const shown = await runVouch(['public-key', '--key', `${prefix}.key`], { env: env() });
    assert.equal(shown.code, 2);
    assert.match(shown.stderr, /k\.key is encrypted and no password was given/);
  });

  test('wrong password: exit 2, a clear message, and no output file', async () => {
    const base = await fresh();
    const prefix = join(base, 'k');
    await runVouch(['generate-key-pair', '--output-key-prefix', prefix], withPassword());
    const out = join(base, 'out.pub');
    const run = await runVouch(
      ['public-key', '--key', `${prefix}.key`, '--output-file', out],
      withPassword('wrong'),
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, /wrong password/);
    assert.match(run.stderr, /came from \$VOUCH_PASSWORD/);
    assert.equal(run.stdout, '');
    await assert.rejects(stat(out), { code: 'ENOENT' });

    const right = await runVouch(
      ['public-key', '--key', `${prefix}.key`, '--output-file', out],
      withPassword(),
    );
    assert.equal(right.code, 0, right.stderr);
    assert.equal(right.stdout, '');
    assert.equal(await readFile(out, 'utf8'), await readFile(`${prefix}.pub`, 'utf8'));
  });

  test('on a terminal the password is prompted for, twice when creating', async () => {
    const base = await fresh();
    const prefix = join(base, 'k');
    const run = await runOnTerminal(
      ['generate-key-pair', '--output-key-prefix', prefix],
      ['typed\n', 'typed\n'],
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /Enter password for private key: \nEnter password for private key again: /,
    );
    assert.doesNotMatch(run.stderr, /typed/);
    await loadPair(prefix, 'typed');

    const shown = await runOnTerminal(['public-key', '--key', `${prefix}.key`], ['typed\r']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stderr, /Enter password for private key .*k\.key: /);

    const other = join(base, 'other');
    const mismatch = await runOnTerminal(
      ['generate-key-pair', '--output-key-prefix', other],
      ['one\ntwo\n'],
    );
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.stderr, /passwords typed do not match/);
    await assert.rejects(stat(`${other}.key`), { code: 'ENOENT' });
  });

  describe('import-key-pair', { concurrency: true }, () => {
    const plainKeys = {
      'SEC1 P-256': () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
          format: 'pem',
          type: 'sec1',
        }),
      'PKCS#1 RSA-2048': () =>
        generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
          format: 'pem',
          type: 'pkcs1',
        }),
      'PKCS#8 P-384': () =>
        generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
          format: 'pem',
          type: 'pkcs8',
        }),
      'PKCS#8 Ed25519': () =>
        generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }),
    } as const;

    for (const [name, make] of Object.entries(plainKeys)) {
      test(`imports a ${name} key`, async () => {
        const base = await fresh();
        const pem = String(make());
        const input = join(base, 'plain.pem');
        await writeFile(input, pem);
        const prefix = join(base, 'imported');
        const run = await runVouch(
          ['import-key-pair', '--key', input, '--output-key-prefix', prefix],
          withPassword(),
        );
        assert.equal(run.code, 0, run.stderr);
        const privateKey = await loadPair(prefix, PASSWORD);
        assert.deepEqual(spki(privateKey), spki(await loadPrivateKey(pem)));
        assert.equal(await mode(`${prefix}.key`), 0o600);
      });
    }

    test('writes import-cosign.key and .pub by default, as cosign', async () => {
      const base = await fresh();
      const input = join(base, 'plain.pem');
      await writeFile(input, privateKeyToPem(generateKeyPairSync('ed25519').privateKey));
      const run = await inDirectory(base, () =>
        runVouch(['import-key-pair', '--key', 'plain.pem'], withPassword()),
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /Private key written to import-cosign\.key/);
      await loadPair(join(base, 'import-cosign'), PASSWORD);

      const again = await runVouch(
        ['import-key-pair', '--key', input, '--output-key-prefix', join(base, 'import-cosign')],
        withPassword(),
      );
      assert.equal(again.code, 2);
      assert.match(again.stderr, /already exists/);
    });

    test('refuses RSA-1024, public keys and cosign keys, writing nothing', async () => {
      const base = await fresh();
      const weak = join(base, 'weak.pem');
      await writeFile(
        weak,
        generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
          format: 'pem',
          type: 'pkcs1',
        }),
      );
      const prefix = join(base, 'out');
      const run = await runVouch(
        ['import-key-pair', '--key', weak, '--output-key-prefix', prefix],
        withPassword(),
      );
      assert.equal(run.code, 2);
      assert.match(run.stderr, /RSA key of 1024 bits \(at least 2048 are required\)/);

      const pub = join(base, 'pub.pem');
      await writeFile(
        pub,
        generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }),
      );
      const publicRun = await runVouch(
        ['import-key-pair', '--key', pub, '--output-key-prefix', prefix],
        withPassword(),
      );
      assert.equal(publicRun.code, 2);
      assert.match(publicRun.stderr, /this is a public key/);

      const cosignPrefix = join(base, 'c');
      await runVouch(['generate-key-pair', '--output-key-prefix', cosignPrefix], withPassword());
      const cosignRun = await runVouch(
        ['import-key-pair', '--key', `${cosignPrefix}.key`, '--output-key-prefix', prefix],
        withPassword(),
      );
      assert.equal(cosignRun.code, 2);
      assert.match(cosignRun.stderr, /already a cosign encrypted key/);

      const missing = await runVouch(
        ['import-key-pair', '--key', join(base, 'nope.pem'), '--output-key-prefix', prefix],
        withPassword(),
      );
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read --key/);

      assert.deepEqual((await readdir(base)).sort(), ['c.key', 'c.pub', 'pub.pem', 'weak.pem']);
    });
  });

  describe('public-key', { concurrency: true }, () => {
    test('a plain PEM key needs no password', async () => {
      const base = await fresh();
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const input = join(base, 'plain.pem');
      await writeFile(input, privateKey.export({ format: 'pem', type: 'sec1' }));
      const run = await runVouch(['public-key', '--key', input], { env: env() });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, publicKey.export({ format: 'pem', type: 'spki' }));
    });

    test('a public key file is refused with a hint', async () => {
      const base = await fresh();
      const prefix = join(base, 'k');
      await runVouch(['generate-key-pair', '--output-key-prefix', prefix], withPassword());
      const run = await runVouch(['public-key', '--key', `${prefix}.pub`], withPassword());
      assert.equal(run.code, 2);
      assert.match(
        run.stderr,
        /holds a public key .* not a private key: pass the private key file/,
      );
    });

    test('garbage and missing files are invalid input', async () => {
      const base = await fresh();
      const garbage = join(base, 'garbage');
      await writeFile(garbage, randomBytes(64));
      const run = await runVouch(['public-key', '--key', garbage], withPassword());
      assert.equal(run.code, 2);
      assert.match(run.stderr, /no PEM block found/);
      const missing = await runVouch(['public-key', '--key', join(base, 'nope')], withPassword());
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read key file/);
    });
  });

  test('every command has help with usage, examples and options', async () => {
    for (const name of ['generate-key-pair', 'import-key-pair', 'public-key']) {
      const run = await runVouch([name, '--help']);
      assert.equal(run.code, 0);
      assert.match(run.stdout, new RegExp(`^Usage: vouch ${name}`));
      assert.match(run.stdout, /\nExamples:\n/);
      assert.match(run.stdout, /\nOptions:\n/);
      assert.match(run.stdout, /--password-file FILE/);
      assert.match(run.stdout, /VOUCH_PASSWORD/);
    }
  });

  describe('helpers for the sign command', { concurrency: true }, () => {
    test('loadSigningKey signs with the key a verifier holds as .pub', async () => {
      const base = await fresh();
      const prefix = join(base, 'k');
      await runVouch(
        ['generate-key-pair', '--output-key-prefix', prefix, '--algorithm', 'ecdsa-p384'],
        withPassword(),
      );
      const io = {
        env: env({ VOUCH_PASSWORD: PASSWORD }),
        stdin: Readable.from([]),
        stdout: process.stdout,
        stderr: process.stderr,
      };
      const signer = await loadSigningKey(io, `${prefix}.key`, {});
      const data = Buffer.from('payload');
      const signature = await signer.sign(data);
      const publicKey = parsePublicKeyPem(await readFile(`${prefix}.pub`));
      assert.ok(verifySignature(publicKey, data, signature));
      assert.deepEqual(spki(signer.publicKey), spki(publicKey));
    });

    test('passwordSource is lazy and asks once', async () => {
      let reads = 0;
      const io = {
        env: new Proxy({} as Record<string, string | undefined>, {
          get: (_target, name) => {
            if (name === 'VOUCH_PASSWORD') reads++;
            return name === 'VOUCH_PASSWORD' ? 'pw' : undefined;
          },
        }),
        stdin: Readable.from([]),
        stdout: process.stdout,
        stderr: process.stderr,
      };
      const source = passwordSource(io, {});
      assert.equal(reads, 0);
      assert.equal(await source(), 'pw');
      assert.equal(await source(), 'pw');
      assert.equal(reads, 1);
    });
  });
});
