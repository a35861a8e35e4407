import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { SIGNING_CONFIG_MEDIA_TYPE } from '../sigstore/signing-config.ts';
import { tufRepositoryDir, writeCurrentTufRepository } from '../sigstore/tuf-cache.ts';
import { parseCommand } from './flags.ts';
import type { CliIO } from './io.ts';
import { chooseSigningServices, SIGNING_FLAGS, type SigningSettings } from './signing-options.ts';

function io(): { io: CliIO; stderr: () => string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return {
    io: { env: {}, stdin: new PassThrough(), stdout: new PassThrough(), stderr },
    stderr: () => text,
  };
}

const settingsOf = async (...args: string[]): Promise<SigningSettings> =>
  (await parseCommand(args, io().io, { signing: SIGNING_FLAGS }, {})).settings.signing;

const service = (url: string, majorApiVersion = 1) => ({
  url,
  majorApiVersion,
  validFor: { start: '2022-01-01T00:00:00Z' },
  operator: 'example.test',
});

const PUBLIC_GOOD = {
  fulcio: { url: 'https://fulcio.sigstore.dev' },
  rekor: { url: 'https://rekor.sigstore.dev', majorApiVersion: 1 },
  tsa: { url: 'https://timestamp.sigstore.dev/api/v1/timestamp' },
  oidcIssuer: { url: 'https://oauth2.sigstore.dev/auth' },
};

describe('SIGNING_FLAGS', () => {
  test('defaults: no config, no URLs, the log on', async () => {
    assert.deepEqual(await settingsOf(), {
      signingConfig: undefined,
      fulcioUrl: undefined,
      rekorUrl: undefined,
      timestampServerUrl: undefined,
      tlogUpload: true,
    });
  });

  test("cosign's spellings: --tlog-upload=false, URL flags", async () => {
    assert.deepEqual(
      await settingsOf(
        '--signing-config',
        'sc.json',
        '--fulcio-url',
        'https://fulcio.private.test',
        '--timestamp-server-url',
        'http://127.0.0.1:3000/tsr',
        '--tlog-upload=false',
      ),
      {
        signingConfig: 'sc.json',
        fulcioUrl: 'https://fulcio.private.test',
        rekorUrl: undefined,
        timestampServerUrl: 'http://127.0.0.1:3000/tsr',
        tlogUpload: false,
      },
    );
    assert.equal((await settingsOf('--tlog-upload=true')).tlogUpload, true);
  });

  test('bad values are usage errors naming the flag', async () => {
    const cases: Array<[string[], string]> = [
      [['--tlog-upload=no'], '--tlog-upload must be true or false, not "no"'],
      [['--tlog-upload'], 'tlog-upload'],
      [
        ['--fulcio-url', 'http://fulcio.example.test'],
        '--fulcio-url "http://fulcio.example.test" must be an https:// URL',
      ],
      [['--rekor-url', 'https://u:secret@rekor.test'], '--rekor-url must not carry credentials'],
      [
        ['--timestamp-server-url', 'tsa.test/tsr'],
        '--timestamp-server-url "tsa.test/tsr" is not a URL',
      ],
      [
        ['--rekor-url', 'https://rekor.test', '--tlog-upload=false'],
        'give --rekor-url or --tlog-upload=false, not both',
      ],
    ];
    for (const [args, message] of cases) {
      await assert.rejects(settingsOf(...args), expectError('invalid', 'USAGE', message), message);
    }
  });

  test('the help names every flag', () => {
    for (const flag of Object.keys(SIGNING_FLAGS.options)) {
      assert.ok(SIGNING_FLAGS.help.includes(`--${flag}`), flag);
    }
    assert.match(SIGNING_FLAGS.help, /--trusted-root FILE\s+must then name its keys/);
  });
});

describe('chooseSigningServices', () => {
  let tmp: string;
  let noCache: string;
  let configFile: string;
  const NOW = new Date('2026-06-01T00:00:00Z');

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-signing-options-'));
    noCache = join(tmp, 'no-cache');
    configFile = join(tmp, 'private.json');
    await writeFile(
      configFile,
      JSON.stringify({
        mediaType: SIGNING_CONFIG_MEDIA_TYPE,
        caUrls: [service('https://fulcio.private.test')],
        oidcUrls: [service('https://issuer.private.test')],
        rekorTlogUrls: [service('https://rekor.private.test')],
        rekorTlogConfig: { selector: 'ANY' },
      }),
    );
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  const choose = async (args: string[], cacheDir = noCache, tlogMajorVersions?: number[]) =>
    chooseSigningServices(io().io, await settingsOf(...args), {
      cacheDir,
      offline: true,
      now: NOW,
      ...(tlogMajorVersions === undefined ? {} : { tlogMajorVersions }),
    });

  test('no flags and no cache: the public-good services shipped with vouch', async () => {
    assert.deepEqual(await choose([]), PUBLIC_GOOD);
  });

  test('--signing-config, with URL flags replacing one service each', async () => {
    assert.deepEqual(await choose(['--signing-config', configFile]), {
      fulcio: { url: 'https://fulcio.private.test' },
      rekor: { url: 'https://rekor.private.test', majorApiVersion: 1 },
      oidcIssuer: { url: 'https://issuer.private.test' },
    });
    assert.deepEqual(
      await choose([
        '--signing-config',
        configFile,
        '--rekor-url',
        'https://rekor2.private.test',
        '--timestamp-server-url',
        'https://tsa.private.test/tsr',
      ]),
      {
        fulcio: { url: 'https://fulcio.private.test' },
        rekor: { url: 'https://rekor2.private.test', majorApiVersion: 1 },
        tsa: { url: 'https://tsa.private.test/tsr' },
        oidcIssuer: { url: 'https://issuer.private.test' },
      },
    );
    // The URL flag wins whatever its place among the flags.
    assert.deepEqual(
      await choose(['--fulcio-url', 'https://f.test', '--signing-config', configFile]),
      {
        fulcio: { url: 'https://f.test' },
        rekor: { url: 'https://rekor.private.test', majorApiVersion: 1 },
        oidcIssuer: { url: 'https://issuer.private.test' },
      },
    );
  });

  test('URL flags alone are a private deployment: nothing of the public-good config', async () => {
    assert.deepEqual(
      await choose([
        '--fulcio-url',
        'https://fulcio.private.test',
        '--rekor-url',
        'https://rekor.private.test',
      ]),
      {
        fulcio: { url: 'https://fulcio.private.test' },
        rekor: { url: 'https://rekor.private.test', majorApiVersion: 1 },
      },
    );
    await assert.rejects(
      choose(['--rekor-url', 'https://rekor.private.test']),
      expectError('invalid', 'USAGE', 'needs --fulcio-url too'),
    );
    await assert.rejects(
      choose(['--fulcio-url', 'https://fulcio.private.test']),
      expectError(
        'invalid',
        'SIGNING_CONFIG_INVALID',
        'the services of the URL flags cannot be used to sign: it names neither a transparency log nor a timestamp authority',
      ),
    );
  });

  test('--tlog-upload=false: accepted with a timestamp authority, refused without', async () => {
    const { rekor, ...withoutLog } = PUBLIC_GOOD;
    assert.ok(rekor !== undefined);
    assert.deepEqual(await choose(['--tlog-upload=false']), withoutLog);
    await assert.rejects(
      choose(['--signing-config', configFile, '--tlog-upload=false']),
      expectError(
        'invalid',
        'USAGE',
        `--tlog-upload=false needs a timestamp authority to prove when the signature was made, and --signing-config ${configFile} names none`,
      ),
    );
    await assert.rejects(
      choose(['--fulcio-url', 'https://f.test', '--tlog-upload=false']),
      expectError('invalid', 'USAGE', '--tlog-upload=false needs a timestamp authority'),
    );
    assert.deepEqual(
      await choose([
        '--fulcio-url',
        'https://f.test',
        '--timestamp-server-url',
        'https://t.test/tsr',
        '--tlog-upload=false',
      ]),
      { fulcio: { url: 'https://f.test' }, tsa: { url: 'https://t.test/tsr' } },
    );
  });

  test('the Rekor API versions the signer writes decide between a v1 and a v2 log', async () => {
    const both = join(tmp, 'both.json');
    await writeFile(
      both,
      JSON.stringify({
        mediaType: SIGNING_CONFIG_MEDIA_TYPE,
        caUrls: [service('https://fulcio.test')],
        rekorTlogUrls: [service('https://rekor-v2.test', 2), service('https://rekor-v1.test', 1)],
        rekorTlogConfig: { selector: 'ANY' },
        tsaUrls: [service('https://tsa.test/tsr')],
        tsaConfig: { selector: 'ANY' },
      }),
    );
    assert.equal((await choose(['--signing-config', both])).rekor?.url, 'https://rekor-v1.test');
    assert.equal(
      (await choose(['--signing-config', both], noCache, [1, 2])).rekor?.url,
      'https://rekor-v2.test',
    );
  });

  test('a TUF cache of a private repository without a signing config is an error; an expired one is used offline, with a warning', async () => {
    const cacheDir = join(tmp, 'cache');
    const mirror = 'https://tuf.private.test';
    const dir = tufRepositoryDir(cacheDir, mirror);
    await mkdir(dir, { recursive: true });
    const metadata = (expires: string) => JSON.stringify({ signed: { version: 1, expires } });
    for (const role of ['root', 'snapshot', 'targets']) {
      await writeFile(join(dir, `${role}.json`), metadata('2099-01-01T00:00:00Z'));
    }
    await writeFile(join(dir, 'timestamp.json'), metadata('2020-01-01T00:00:00Z'));
    await writeCurrentTufRepository(cacheDir, mirror);
    await assert.rejects(
      choose([], cacheDir),
      expectError('invalid', 'SIGNING_CONFIG_REQUIRED', 'pass --signing-config FILE'),
    );
    // URL flags alone never read the cache.
    assert.equal(
      (await choose(['--fulcio-url', 'https://f.test', '--rekor-url', 'https://r.test'], cacheDir))
        .fulcio.url,
      'https://f.test',
    );

    await writeFile(join(dir, 'signing_config.v0.2.json'), await readFile(configFile));
    const run = io();
    const services = await chooseSigningServices(run.io, await settingsOf(), {
      cacheDir,
      offline: true,
      now: NOW,
    });
    assert.equal(services.fulcio.url, 'https://fulcio.private.test');
    assert.match(
      run.stderr(),
      /warning: using the cached signing config although its TUF timestamp expired/,
    );
  });
});
