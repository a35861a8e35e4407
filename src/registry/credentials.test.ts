import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import {
  type Credentials,
  createHelperRunner,
  type DockerConfigOptions,
  eraseCredentials,
  findCredentials,
  type HelperRunner,
  storeCredentials,
} from './credentials.ts';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vouch-credentials-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh config directory, with config.json holding `config` when given. */
async function configDir(config?: unknown): Promise<string> {
  counter += 1;
  const dir = join(root, `config-${counter}`);
  await mkdir(dir, { recursive: true });
  if (config !== undefined) {
    await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  }
  return dir;
}

async function readConfig(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
}

function expectVouchError(category: string, code: string, text?: string) {
  return (error: unknown): boolean => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.category, category);
    assert.equal(error.code, code);
    if (text !== undefined) assert.ok(error.message.includes(text), error.message);
    return true;
  };
}

/** A runner that records calls and answers from a table keyed by `program action`. */
function recordingRunner(answers: Record<string, string>): {
  runner: HelperRunner;
  calls: string[];
} {
  const calls: string[] = [];
  const runner: HelperRunner = async (program, args, stdin) => {
    const call = `${program} ${args.join(' ')}`;
    calls.push(`${call} <- ${stdin}`);
    const stdout = answers[call];
    return stdout === undefined
      ? { code: 1, stdout: 'credentials not found in native keychain\n', stderr: '' }
      : { code: 0, stdout, stderr: '' };
  };
  return { runner, calls };
}

describe('findCredentials from auths', () => {
  test('no config file, or no directory at all, means no credentials', async () => {
    const dir = await configDir();
    assert.equal(await findCredentials('ghcr.io', { configDir: dir }), undefined);
    assert.equal(await findCredentials('ghcr.io', { configDir: join(dir, 'absent') }), undefined);
    assert.equal(await eraseCredentials('ghcr.io', { configDir: join(dir, 'absent') }), false);
  });

  test('an empty file is an empty configuration, as in docker', async () => {
    const dir = await configDir();
    await writeFile(join(dir, 'config.json'), '\n');
    assert.equal(await findCredentials('ghcr.io', { configDir: dir }), undefined);
  });

  test('auth is base64 of user:password, split at the first colon', async () => {
    const dir = await configDir({ auths: { 'ghcr.io': { auth: b64('alice:pa:ss\0') } } });
    assert.deepEqual(await findCredentials('ghcr.io', { configDir: dir }), {
      username: 'alice',
      password: 'pa:ss',
    });
  });

  test('username and password fields', async () => {
    const dir = await configDir({
      auths: { 'localhost:5000': { username: 'bob', password: 'secret' } },
    });
    assert.deepEqual(await findCredentials('localhost:5000', { configDir: dir }), {
      username: 'bob',
      password: 'secret',
    });
  });

  test('identitytoken wins over a username, and the two are not mixed', async () => {
    const dir = await configDir({
      auths: { 'ghcr.io': { auth: b64('carol:'), identitytoken: 'refresh-token' } },
    });
    const found = await findCredentials('ghcr.io', { configDir: dir });
    assert.deepEqual(found, { identityToken: 'refresh-token' });
  });

  test('an entry without secrets (a helper login marker) means no credentials', async () => {
    const dir = await configDir({ auths: { 'ghcr.io': {} } });
    assert.equal(await findCredentials('ghcr.io', { configDir: dir }), undefined);
  });

  test('docker.io and index.docker.io use the key https://index.docker.io/v1/', async () => {
    const dir = await configDir({
      auths: { 'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') } },
    });
    const expected = { username: 'hubuser', password: 'hubpass' };
    assert.deepEqual(await findCredentials('docker.io', { configDir: dir }), expected);
    assert.deepEqual(await findCredentials('index.docker.io', { configDir: dir }), expected);
    assert.equal(await findCredentials('registry-1.docker.io.evil', { configDir: dir }), undefined);
  });

  test('keys with scheme and path match their host[:port]', async () => {
    const dir = await configDir({
      auths: {
        'https://registry.example:5000/v1/': { auth: b64('a:1') },
        'http://plain.example': { auth: b64('b:2') },
      },
    });
    assert.deepEqual(await findCredentials('registry.example:5000', { configDir: dir }), {
      username: 'a',
      password: '1',
    });
    assert.deepEqual(await findCredentials('plain.example', { configDir: dir }), {
      username: 'b',
      password: '2',
    });
    assert.deepEqual(await findCredentials('PLAIN.example', { configDir: dir }), {
      username: 'b',
      password: '2',
    });
  });

  test('the exact key is preferred over a key that only normalises to the host', async () => {
    const dir = await configDir({
      auths: { 'https://ghcr.io/': { auth: b64('old:1') }, 'ghcr.io': { auth: b64('new:2') } },
    });
    assert.deepEqual(await findCredentials('ghcr.io', { configDir: dir }), {
      username: 'new',
      password: '2',
    });
  });

  test('hosts match exactly: no suffixes, prefixes, subdomains or other ports', async () => {
    const dir = await configDir({
      auths: {
        'ghcr.io': { auth: b64('ghcr:secret') },
        'localhost:5000': { auth: b64('local:secret') },
        'https://example.com': { auth: b64('example:secret') },
      },
    });
    const options = { configDir: dir };
    for (const registry of [
      'ghcr.io.evil.com',
      'evil.ghcr.io',
      'ghcr.io:443',
      'ghcr.i',
      'localhost',
      'localhost:5001',
      'localhost:50001',
      'example.com:443',
      'example.co',
    ]) {
      assert.equal(await findCredentials(registry, options), undefined, registry);
    }
    // and an entry for a look-alike host does not serve the real one
    const evil = await configDir({
      auths: { 'https://ghcr.io.evil.com/v1/': { auth: b64('x:y') }, 'ghcr.io:443': {} },
    });
    assert.equal(await findCredentials('ghcr.io', { configDir: evil }), undefined);
  });

  test('a malformed registry name is refused', async () => {
    const dir = await configDir({ auths: {} });
    for (const registry of ['', 'a b', '__proto__', 'user@host', 'host:port']) {
      await assert.rejects(
        findCredentials(registry, { configDir: dir }),
        expectVouchError('invalid', 'REGISTRY_INVALID'),
        registry,
      );
    }
  });
});

describe('malformed configuration', () => {
  const cases: [string, string][] = [
    ['not JSON', '{"auths": {'],
    ['not an object', '[1, 2]'],
    ['auths not an object', '{"auths": ["ghcr.io"]}'],
    ['entry field not a string', '{"auths": {"ghcr.io": {"auth": 42}}}'],
    ['credHelpers value not a string', '{"credHelpers": {"ghcr.io": true}}'],
    ['credsStore not a string', '{"credsStore": {}}'],
    ['auth not base64', '{"auths": {"ghcr.io": {"auth": "%%%"}}}'],
    ['auth without a colon', `{"auths": {"ghcr.io": {"auth": "${b64('nocolon')}"}}}`],
    ['auth with an empty username', `{"auths": {"ghcr.io": {"auth": "${b64(':pw')}"}}}`],
    ['helper name with a path', '{"credsStore": "../../bin/sh"}'],
  ];
  for (const [name, text] of cases) {
    test(name, async () => {
      const dir = await configDir();
      const file = join(dir, 'config.json');
      await writeFile(file, text);
      await assert.rejects(
        findCredentials('ghcr.io', { configDir: dir }),
        expectVouchError('invalid', 'DOCKER_CONFIG_INVALID', file),
      );
    });
  }

  test('store refuses to overwrite a malformed file', async () => {
    const dir = await configDir();
    await writeFile(join(dir, 'config.json'), 'oops');
    await assert.rejects(
      storeCredentials('ghcr.io', { username: 'a', password: 'b' }, { configDir: dir }),
      expectVouchError('invalid', 'DOCKER_CONFIG_INVALID'),
    );
    assert.equal(await readFile(join(dir, 'config.json'), 'utf8'), 'oops');
  });
});

describe('store selection', () => {
  const config = {
    credHelpers: { 'ghcr.io': 'ghcr', 'https://index.docker.io/v1/': 'hub', 'opt.out': '' },
    credsStore: 'desktop',
    auths: {
      'ghcr.io': { auth: b64('file:ghcr') },
      'quay.io': { auth: b64('file:quay') },
      'opt.out': { auth: b64('file:optout') },
    },
  };

  test('credHelpers wins over credsStore, which wins over auths', async () => {
    const dir = await configDir(config);
    const { runner, calls } = recordingRunner({
      'docker-credential-ghcr get': '{"ServerURL":"ghcr.io","Username":"gh","Secret":"from-ghcr"}',
      'docker-credential-desktop get':
        '{"ServerURL":"quay.io","Username":"dk","Secret":"from-desktop"}',
      'docker-credential-hub get': '{"ServerURL":"x","Username":"<token>","Secret":"hub-token"}',
    });
    const options = { configDir: dir, runHelper: runner };
    assert.deepEqual(await findCredentials('ghcr.io', options), {
      username: 'gh',
      password: 'from-ghcr',
    });
    assert.deepEqual(await findCredentials('quay.io', options), {
      username: 'dk',
      password: 'from-desktop',
    });
    assert.deepEqual(await findCredentials('docker.io', options), { identityToken: 'hub-token' });
    // an empty credHelpers entry opts the registry out of credsStore
    assert.deepEqual(await findCredentials('opt.out', options), {
      username: 'file',
      password: 'optout',
    });
    assert.deepEqual(calls, [
      'docker-credential-ghcr get <- ghcr.io',
      'docker-credential-desktop get <- quay.io',
      'docker-credential-hub get <- https://index.docker.io/v1/',
    ]);
  });

  test('a helper that has nothing means no credentials, without falling back to auths', async () => {
    const dir = await configDir(config);
    const { runner } = recordingRunner({});
    assert.equal(
      await findCredentials('quay.io', { configDir: dir, runHelper: runner }),
      undefined,
    );
  });

  test('auths apply when no helper is configured', async () => {
    const dir = await configDir({ auths: config.auths });
    const { runner, calls } = recordingRunner({});
    assert.deepEqual(await findCredentials('quay.io', { configDir: dir, runHelper: runner }), {
      username: 'file',
      password: 'quay',
    });
    assert.deepEqual(calls, []);
  });

  test('malformed helper output is refused without quoting it', async () => {
    const dir = await configDir({ credsStore: 'odd' });
    const runner: HelperRunner = async () => ({
      code: 0,
      stdout: 'Username=u Secret=s3cr3t',
      stderr: '',
    });
    await assert.rejects(findCredentials('ghcr.io', { configDir: dir, runHelper: runner }), (e) => {
      expectVouchError('unavailable', 'CREDENTIAL_HELPER_FAILED', 'docker-credential-odd')(e);
      assert.ok(!(e as Error).message.includes('s3cr3t'));
      return true;
    });
  });
});

describe('auths in config.json: store and erase', () => {
  const unrelated = {
    auths: { 'quay.io': { auth: b64('q:q'), email: 'q@example.com' } },
    HttpHeaders: { 'X-Meta': 'kept' },
    psFormat: 'table {{.ID}}',
    proxies: { default: { httpProxy: 'http://proxy:3128' } },
    plugins: { foo: { bar: 'baz' } },
    currentContext: 'remote',
    somethingNew: [1, { nested: true }],
  };

  test('round trip preserves unrelated fields, writes mode 0600', async () => {
    const dir = await configDir(unrelated);
    await chmod(join(dir, 'config.json'), 0o644);
    const options = { configDir: dir };
    await storeCredentials('ghcr.io', { username: 'alice', password: 'pw:1' }, options);
    assert.deepEqual(await findCredentials('ghcr.io', options), {
      username: 'alice',
      password: 'pw:1',
    });
    const written = await readConfig(dir);
    assert.deepEqual(written, {
      ...unrelated,
      auths: { ...unrelated.auths, 'ghcr.io': { auth: b64('alice:pw:1') } },
    });
    assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);

    assert.equal(await eraseCredentials('ghcr.io', options), true);
    assert.equal(await findCredentials('ghcr.io', options), undefined);
    assert.deepEqual(await readConfig(dir), unrelated);
    assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);
    assert.equal(await eraseCredentials('ghcr.io', options), false);
  });

  test('identity tokens are stored as identitytoken, replacing a password', async () => {
    const dir = await configDir({ auths: { 'ghcr.io': { auth: b64('a:b'), email: 'e' } } });
    const options = { configDir: dir };
    await storeCredentials('ghcr.io', { identityToken: 'tok' }, options);
    assert.deepEqual((await readConfig(dir)).auths, {
      'ghcr.io': { email: 'e', identitytoken: 'tok' },
    });
    assert.deepEqual(await findCredentials('ghcr.io', options), { identityToken: 'tok' });
  });

  test('creates the directory with mode 0700 and Docker Hub under its docker key', async () => {
    const dir = join(await configDir(), 'nested', '.docker');
    const options = { configDir: dir };
    await storeCredentials('docker.io', { username: 'hub', password: 'pw' }, options);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);
    assert.deepEqual(await readConfig(dir), {
      auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw') } },
    });
  });

  test('erase removes every key naming the host, and only those', async () => {
    const dir = await configDir({
      auths: {
        'registry.example:5000': { auth: b64('a:1') },
        'https://registry.example:5000/v1/': { auth: b64('b:2') },
        'http://registry.example:5000': { auth: b64('c:3') },
        'registry.example': { auth: b64('d:4') },
        'registry.example:5000.evil': { auth: b64('e:5') },
      },
    });
    const options = { configDir: dir };
    assert.equal(await eraseCredentials('registry.example:5000', options), true);
    assert.deepEqual(Object.keys((await readConfig(dir)).auths as object), [
      'registry.example',
      'registry.example:5000.evil',
    ]);
  });

  test('writes through a symlinked config.json', async () => {
    const dir = await configDir();
    const real = await configDir({ psFormat: 'x' });
    await symlink(join(real, 'config.json'), join(dir, 'config.json'));
    await storeCredentials('ghcr.io', { username: 'a', password: 'b' }, { configDir: dir });
    assert.deepEqual(await readConfig(real), {
      psFormat: 'x',
      auths: { 'ghcr.io': { auth: b64('a:b') } },
    });
    assert.deepEqual(await findCredentials('ghcr.io', { configDir: dir }), {
      username: 'a',
      password: 'b',
    });
  });

  test('refuses credentials docker could not store faithfully', async () => {
    const dir = await configDir();
    const bad: Credentials[] = [
      { username: '', password: 'p' },
      { username: 'a:b', password: 'p' },
      { username: '<token>', password: 'p' },
      { identityToken: '' },
    ];
    for (const credentials of bad) {
      await assert.rejects(
        storeCredentials('ghcr.io', credentials, { configDir: dir }),
        expectVouchError('invalid', 'CREDENTIALS_INVALID'),
      );
    }
  });
});

describe('a real credential helper program', () => {
  let bin: string;
  let store: string;

  before(async () => {
    bin = join(root, 'bin');
    store = join(root, 'helper-store');
    await mkdir(bin, { recursive: true });
    await mkdir(store, { recursive: true });
    // A keychain in a directory, speaking the docker-credential-helpers protocol.
    const script = `#!/bin/sh
store='${store}'
action="$1"
input=$(cat)
printf '%s %s\\n' "$action" "$input" >> "$store/log"
case "$input" in
  *hang.example*) exec sleep 10 ;;
  *fail.example*) echo "helper exploded on: $input"; echo "details" >&2; exit 3 ;;
esac
case "$action" in
  store) url=$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p') ;;
  *) url="$input" ;;
esac
name=$(printf '%s' "$url" | tr -c 'A-Za-z0-9.' '_')
case "$action" in
  get)
    if [ -f "$store/$name" ]; then cat "$store/$name"; exit 0; fi
    echo "credentials not found in native keychain"; exit 1 ;;
  store) printf '%s' "$input" > "$store/$name" ;;
  erase)
    if [ -f "$store/$name" ]; then rm "$store/$name"; exit 0; fi
    echo "credentials not found in native keychain"; exit 1 ;;
  *) echo "unknown action $action"; exit 1 ;;
esac
`;
    await writeFile(join(bin, 'docker-credential-test'), script, { mode: 0o755 });
  });

  async function helperOptions(
    config: unknown = { credsStore: 'test' },
    timeoutMs?: number,
  ): Promise<DockerConfigOptions> {
    return {
      configDir: await configDir(config),
      runHelper: createHelperRunner(
        timeoutMs === undefined ? { searchPath: bin } : { searchPath: bin, timeoutMs },
      ),
    };
  }

  async function log(): Promise<string[]> {
    return (await readFile(join(store, 'log'), 'utf8')).trim().split('\n');
  }

  test('store, get and erase through the helper', async () => {
    const options = await helperOptions({
      credsStore: 'test',
      auths: { 'helper.example': { auth: b64('stale:plaintext'), email: 'kept' } },
      psFormat: 'y',
    });
    assert.equal(await findCredentials('helper.example', options), undefined);
    await storeCredentials('helper.example', { username: 'u', password: 'hunter2' }, options);
    assert.deepEqual(await findCredentials('helper.example', options), {
      username: 'u',
      password: 'hunter2',
    });
    // like docker: the file keeps an entry without secrets, and the stale password is gone
    assert.deepEqual(await readConfig(options.configDir), {
      credsStore: 'test',
      auths: { 'helper.example': { email: 'kept' } },
      psFormat: 'y',
    });
    assert.ok(
      (await log()).includes(
        'store {"ServerURL":"helper.example","Username":"u","Secret":"hunter2"}',
      ),
    );

    assert.equal(await eraseCredentials('helper.example', options), true);
    assert.equal(await findCredentials('helper.example', options), undefined);
    assert.deepEqual((await readConfig(options.configDir)).auths, {});
    assert.equal(await eraseCredentials('helper.example', options), false);
  });

  test('identity tokens travel as Username <token>; Docker Hub as its docker key', async () => {
    const options = await helperOptions({ credHelpers: { 'https://index.docker.io/v1/': 'test' } });
    await storeCredentials('docker.io', { identityToken: 'refresh' }, options);
    assert.deepEqual(await findCredentials('docker.io', options), { identityToken: 'refresh' });
    const entries = await log();
    assert.ok(
      entries.includes(
        'store {"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"refresh"}',
      ),
    );
    assert.ok(entries.includes('get https://index.docker.io/v1/'));
    assert.deepEqual((await readConfig(options.configDir)).auths, {
      'https://index.docker.io/v1/': {},
    });
    assert.equal(await eraseCredentials('index.docker.io', options), true);
  });

  test('a failing helper is unavailable, named, and never quotes the secret', async () => {
    const options = await helperOptions();
    await assert.rejects(
      findCredentials('fail.example', options),
      expectVouchError('unavailable', 'CREDENTIAL_HELPER_FAILED', 'docker-credential-test'),
    );
    await assert.rejects(
      storeCredentials('fail.example', { username: 'u', password: 'TopSecret99' }, options),
      (error) => {
        expectVouchError(
          'unavailable',
          'CREDENTIAL_HELPER_FAILED',
          'docker-credential-test',
        )(error);
        assert.ok((error as Error).message.includes('exit code 3'), (error as Error).message);
        assert.ok(!(error as Error).message.includes('TopSecret99'), (error as Error).message);
        return true;
      },
    );
    await assert.rejects(
      eraseCredentials('fail.example', options),
      expectVouchError('unavailable', 'CREDENTIAL_HELPER_FAILED'),
    );
  });

  test('a missing helper is unavailable and named', async () => {
    const options = await helperOptions({ credsStore: 'absent' });
    await assert.rejects(
      findCredentials('ghcr.io', options),
      expectVouchError('unavailable', 'CREDENTIAL_HELPER_FAILED', 'docker-credential-absent'),
    );
  });

  test('a helper that hangs is killed after the timeout', async () => {
    const options = await helperOptions({ credsStore: 'test' }, 300);
    const started = Date.now();
    await assert.rejects(
      findCredentials('hang.example', options),
      expectVouchError('unavailable', 'CREDENTIAL_HELPER_FAILED', 'timed out'),
    );
    assert.ok(Date.now() - started < 5000);
  });
});
