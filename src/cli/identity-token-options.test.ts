import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { expectError, failureOf } from '../../test/helpers/assertions.ts';
import { PUBLIC_GOOD_OIDC_ISSUER } from '../sigstore/oidc-device-flow.ts';
import { parseCommand } from './flags.ts';
import {
  IDENTITY_TOKEN_FLAGS,
  type IdentityTokenSettings,
  resolveIdentityToken,
} from './identity-token-options.ts';
import type { CliIO } from './io.ts';

const now = Math.floor(Date.now() / 1000);
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned-but-shaped JWT (the CLI never checks signatures; Fulcio does). */
function jwt(claims: Record<string, unknown> = {}): string {
  const payload = {
    iss: 'https://gitlab.example.com',
    sub: 'project_path:group/app:ref_type:branch:ref:main',
    aud: 'sigstore',
    iat: now,
    exp: now + 600,
    ...claims,
  };
  return `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(payload)}.${Buffer.from(`sig-${Math.random()}`).toString('base64url')}`;
}

function io(
  env: Record<string, string> = {},
  terminal = false,
): { io: CliIO; stderr: () => string } {
  const stderr = Object.assign(new PassThrough(), { isTTY: terminal });
  let text = '';
  stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return {
    io: {
      env,
      stdin: Object.assign(new PassThrough(), { isTTY: terminal }),
      stdout: new PassThrough(),
      stderr,
    },
    stderr: () => text,
  };
}

async function settingsOf(...args: string[]): Promise<IdentityTokenSettings> {
  const { settings } = await parseCommand(args, io().io, { token: IDENTITY_TOKEN_FLAGS }, {});
  return settings.token;
}

/** A GitHub Actions environment whose service cannot be reached: a source that must not be asked. */
const UNREACHABLE_GITHUB = {
  ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:1/idtoken?api-version=2.0',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token-never-to-be-shown',
};

function assertNotShown(token: string, ...texts: string[]): void {
  const [, , signature = ''] = token.split('.');
  for (const text of texts) {
    assert.ok(!text.includes(token), `the token appears in: ${text}`);
    assert.ok(!text.includes(signature), `the token's signature appears in: ${text}`);
  }
}

describe('IDENTITY_TOKEN_FLAGS', () => {
  test('defaults: no token, the public-good issuer, client sigstore', async () => {
    assert.deepEqual(await settingsOf(), {
      identityToken: undefined,
      oidcIssuer: undefined,
      oidcClientId: 'sigstore',
      oidcClientSecretFile: undefined,
    });
    assert.ok(IDENTITY_TOKEN_FLAGS.help.includes(PUBLIC_GOOD_OIDC_ISSUER));
  });

  test('reads every flag', async () => {
    const settings = await settingsOf(
      '--identity-token',
      '@token.txt',
      '--oidc-issuer',
      'https://issuer.example.com/auth',
      '--oidc-client-id',
      'vouch',
      '--oidc-client-secret-file',
      'secret.txt',
    );
    assert.deepEqual(settings, {
      identityToken: '@token.txt',
      oidcIssuer: 'https://issuer.example.com/auth',
      oidcClientId: 'vouch',
      oidcClientSecretFile: 'secret.txt',
    });
  });

  for (const [args, text] of [
    [['--identity-token', ''], '--identity-token takes a token'],
    [['--identity-token', '@'], '--identity-token takes a token'],
    [['--oidc-issuer', 'http://issuer.example.com'], '--oidc-issuer takes an https:// URL'],
    [['--oidc-issuer', 'issuer.example.com'], '--oidc-issuer takes an https:// URL'],
    [['--oidc-client-id', ''], '--oidc-client-id must not be empty'],
    [['--oidc-client-secret-file', ''], '--oidc-client-secret-file must not be empty'],
  ] as const) {
    test(`refuses ${args.join(' ')}`, async () => {
      await assert.rejects(settingsOf(...args), expectError('invalid', 'USAGE', text));
    });
  }

  test('plain http is allowed for an issuer on loopback', async () => {
    const settings = await settingsOf('--oidc-issuer', 'http://127.0.0.1:5556/auth');
    assert.equal(settings.oidcIssuer, 'http://127.0.0.1:5556/auth');
  });
});

describe('resolveIdentityToken', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-identity-token-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('--identity-token TOKEN comes first, before the environment and GitHub Actions', async () => {
    const token = jwt();
    const run = io({ SIGSTORE_ID_TOKEN: jwt({ sub: 'from-env' }), ...UNREACHABLE_GITHUB }, true);
    const resolved = await resolveIdentityToken(
      run.io,
      await settingsOf('--identity-token', ` ${token}\n`),
      { audience: 'sigstore' },
    );
    assert.equal(resolved.token, token);
    assert.equal(resolved.source, 'flag');
    assert.equal(resolved.identity.subject, 'project_path:group/app:ref_type:branch:ref:main');
    assert.equal(resolved.identity.issuer, 'https://gitlab.example.com');
    assert.equal(run.stderr(), '');
  });

  test('--identity-token @FILE reads the file, without its trailing newline', async () => {
    const token = jwt();
    const file = join(dir, 'token');
    await writeFile(file, `${token}\n`);
    const resolved = await resolveIdentityToken(
      io(UNREACHABLE_GITHUB).io,
      await settingsOf('--identity-token', `@${file}`),
      { audience: 'sigstore' },
    );
    assert.deepEqual([resolved.token, resolved.source], [token, 'file']);
  });

  test('an unreadable, empty, oversized or binary @FILE is refused, naming the file', async () => {
    const missing = join(dir, 'missing');
    const empty = join(dir, 'empty');
    const large = join(dir, 'large');
    const binary = join(dir, 'binary');
    await writeFile(empty, '\n');
    await writeFile(large, 'a'.repeat(128 * 1024 + 1));
    await writeFile(binary, Buffer.from([0xff, 0xfe, 0x41]));
    for (const [file, text] of [
      [missing, 'ENOENT'],
      [empty, 'it is empty'],
      [large, 'larger than'],
      [binary, 'not UTF-8'],
      [dir, 'EISDIR'],
    ] as const) {
      const error = await failureOf(
        resolveIdentityToken(io().io, await settingsOf('--identity-token', `@${file}`), {
          audience: 'sigstore',
        }),
      );
      expectError('invalid', 'FILE_UNREADABLE', `--identity-token @FILE ${file}: `)(error);
      expectError('invalid', 'FILE_UNREADABLE', text)(error);
    }
  });

  test('$SIGSTORE_ID_TOKEN comes before GitHub Actions', async () => {
    const token = jwt();
    const resolved = await resolveIdentityToken(
      io({ SIGSTORE_ID_TOKEN: `${token}\n`, ...UNREACHABLE_GITHUB }, true).io,
      await settingsOf(),
      { audience: 'sigstore' },
    );
    assert.deepEqual([resolved.token, resolved.source], [token, 'env']);
  });

  test('with no source and no terminal: IDENTITY_TOKEN_MISSING naming every source tried', async () => {
    for (const env of [{}, { SIGSTORE_ID_TOKEN: '' }]) {
      const error = await failureOf(
        resolveIdentityToken(io(env).io, await settingsOf(), { audience: 'sigstore' }),
      );
      expectError('invalid', 'IDENTITY_TOKEN_MISSING')(error);
      const message = (error as Error).message;
      for (const source of [
        '--identity-token',
        '$SIGSTORE_ID_TOKEN',
        '$ACTIONS_ID_TOKEN_REQUEST_URL and $ACTIONS_ID_TOKEN_REQUEST_TOKEN',
        'id-token: write',
        'no terminal',
        '--oidc-issuer',
      ]) {
        assert.ok(message.includes(source), `${source} not in: ${message}`);
      }
    }
  });

  test('a terminal needs both stdin and stderr for the device flow', async () => {
    const halfTerminal = io();
    Object.assign(halfTerminal.io.stdin, { isTTY: true });
    await assert.rejects(
      resolveIdentityToken(halfTerminal.io, await settingsOf(), { audience: 'sigstore' }),
      expectError('invalid', 'IDENTITY_TOKEN_MISSING'),
    );
  });

  test('half a GitHub Actions environment says which variable is missing', async () => {
    await assert.rejects(
      resolveIdentityToken(
        io({ ACTIONS_ID_TOKEN_REQUEST_URL: UNREACHABLE_GITHUB.ACTIONS_ID_TOKEN_REQUEST_URL }).io,
        await settingsOf(),
        { audience: 'sigstore' },
      ),
      expectError(
        'invalid',
        'IDENTITY_TOKEN_MISSING',
        '$ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set',
      ),
    );
  });

  test('an expired token is refused, naming its source, and never shown', async () => {
    const token = jwt({ exp: now - 3600 });
    const run = io({ SIGSTORE_ID_TOKEN: token });
    const error = await failureOf(
      resolveIdentityToken(run.io, await settingsOf(), { audience: 'sigstore' }),
    );
    expectError(
      'invalid',
      'IDENTITY_TOKEN_EXPIRED',
      'the identity token in $SIGSTORE_ID_TOKEN',
    )(error);
    assertNotShown(token, (error as Error).message, run.stderr());
  });

  test('a token for another audience is refused, and never shown', async () => {
    const token = jwt({ aud: 'https://gitlab.example.com' });
    const error = await failureOf(
      resolveIdentityToken(io().io, await settingsOf('--identity-token', token), {
        audience: 'sigstore',
      }),
    );
    expectError(
      'invalid',
      'IDENTITY_TOKEN_AUDIENCE',
      'the identity token of --identity-token',
    )(error);
    assertNotShown(token, (error as Error).message);
  });

  test('a token for the --oidc-client-id is accepted as well as one for the audience', async () => {
    const token = jwt({ aud: 'vouch' });
    const resolved = await resolveIdentityToken(
      io().io,
      await settingsOf('--identity-token', token, '--oidc-client-id', 'vouch'),
      { audience: 'sigstore' },
    );
    assert.deepEqual(resolved.identity.audiences, ['vouch']);
  });

  test('a value that is no JWT is refused without being quoted', async () => {
    const secret = 'not-a-jwt-but-maybe-a-password';
    const error = await failureOf(
      resolveIdentityToken(io().io, await settingsOf('--identity-token', secret), {
        audience: 'sigstore',
      }),
    );
    expectError('invalid', 'IDENTITY_TOKEN_INVALID', 'is not a JWT')(error);
    assert.ok(!(error as Error).message.includes(secret));
  });
});
