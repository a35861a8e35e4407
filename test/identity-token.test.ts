/**
 * Where keyless signing's identity token comes from, against servers of the
 * tests' own on 127.0.0.1: an OIDC issuer (discovery, JWKS, device
 * authorization and token endpoints, real ES256/RS256 JWTs) and GitHub
 * Actions' token service with the runner's request shape.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  IDENTITY_TOKEN_FLAGS,
  type IdentityTokenSettings,
  resolveIdentityToken,
} from '../src/cli/identity-token-options.ts';
import type { CliIO } from '../src/cli/io.ts';
import { isVouchError } from '../src/core/errors.ts';
import { HttpClient } from '../src/registry/http.ts';
import { fetchGithubActionsToken } from '../src/sigstore/github-actions-token.ts';
import { checkIdentityToken } from '../src/sigstore/identity-token.ts';
import { type DeviceFlowOptions, deviceFlowToken } from '../src/sigstore/oidc-device-flow.ts';
import { expectError, failureOf, within } from './helpers/assertions.ts';
import { listenOnLoopback } from './helpers/loopback.ts';
import {
  GITHUB_ACTIONS_ISSUER,
  githubActionsClaims,
  startGithubActionsTokenService,
  startOidcIssuer,
  type TestOidcIssuer,
} from './helpers/oidc-issuer.ts';

/** Every secret a test handed out, and every text vouch produced: none may hold any of them. */
const secrets = new Set<string>();
const outputs: string[] = [];

function remember(...values: string[]): void {
  for (const value of values) {
    secrets.add(value);
    // A JWT's signature alone is enough to recognise it.
    const signature = value.split('.')[2];
    if (signature !== undefined && signature.length >= 16) secrets.add(signature);
  }
}

/** Keeps an error's messages (and its causes') for the final check. */
function keep(error: unknown): unknown {
  for (let e = error; e instanceof Error; e = e.cause) {
    outputs.push(e.message);
    if (isVouchError(e)) outputs.push(String(e.code));
  }
  return error;
}

function cliIo(
  env: Record<string, string>,
  terminal: boolean,
  onStderr: (text: string) => void = () => {},
): { io: CliIO; stderr: () => string } {
  let text = '';
  const stderr = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString();
        onStderr(text);
        callback();
      },
    }),
    { isTTY: terminal },
  );
  return {
    io: {
      env,
      stdin: Object.assign(new PassThrough(), { isTTY: terminal }),
      stdout: new PassThrough(),
      stderr,
    },
    stderr: () => {
      outputs.push(text);
      return text;
    },
  };
}

/** The settings the flags give when none is passed, with `overrides`. */
function settings(overrides: Partial<IdentityTokenSettings> = {}): IdentityTokenSettings {
  return { ...IDENTITY_TOKEN_FLAGS.read({}), ...overrides };
}

/** A client that gives up at once, so failure tests do not wait for retries. */
function quickHttp(): HttpClient {
  return new HttpClient({ transport: 'node', retries: 0, requestTimeoutMs: 10_000 });
}

/** A fake clock that the injected sleep advances: the device flow's waits take no time. */
function fakeTime() {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => clock,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      clock += ms;
    },
  };
}

function flowOptions(
  issuer: TestOidcIssuer,
  http: HttpClient,
  onPrompt: DeviceFlowOptions['onPrompt'],
  time = fakeTime(),
): DeviceFlowOptions {
  return {
    issuer: issuer.url,
    clientId: issuer.clientId,
    http,
    onPrompt,
    sleep: time.sleep,
    now: time.now,
  };
}

describe('GitHub Actions token service', () => {
  let issuer: TestOidcIssuer;
  const http = quickHttp();
  before(async () => {
    issuer = await startOidcIssuer();
  });
  after(async () => {
    await http.close();
    await issuer.stop();
  });

  test('the request has the runner shape: GET the URL &audience=, bearer request token', async () => {
    const service = await startGithubActionsTokenService({
      mint: (audience) => issuer.mintToken(githubActionsClaims(audience)),
    });
    try {
      remember(service.requestToken);
      const token = await fetchGithubActionsToken({
        requestUrl: service.requestUrl,
        requestToken: service.requestToken,
        audience: 'sigstore',
        http,
      });
      remember(token);
      assert.deepEqual(service.requests, [
        {
          method: 'GET',
          authorization: `bearer ${service.requestToken}`,
          apiVersion: '2.0',
          audiences: ['sigstore'],
          status: 200,
        },
      ]);
      const identity = checkIdentityToken(token, { audience: 'sigstore' });
      assert.equal(identity.issuer, GITHUB_ACTIONS_ISSUER);
      assert.equal(identity.subject, 'repo:octo/app:ref:refs/heads/main');
    } finally {
      await service.stop();
    }
  });

  test('a wrong request token: IDENTITY_TOKEN_UNAVAILABLE with the status, not the bearer', async () => {
    const service = await startGithubActionsTokenService({ mint: () => issuer.mintToken() });
    try {
      const wrong = `${service.requestToken}x`;
      remember(wrong, service.requestToken);
      const error = keep(
        await failureOf(
          fetchGithubActionsToken({
            requestUrl: service.requestUrl,
            requestToken: wrong,
            audience: 'sigstore',
            http,
          }),
        ),
      );
      expectError('unavailable', 'IDENTITY_TOKEN_UNAVAILABLE', 'answered 401')(error);
      expectError('unavailable', 'IDENTITY_TOKEN_UNAVAILABLE', 'id-token: write')(error);
      assert.equal(service.requests[0]?.status, 401);
    } finally {
      await service.stop();
    }
  });

  test('a server error: IDENTITY_TOKEN_UNAVAILABLE with the status', async () => {
    const service = await startGithubActionsTokenService({
      mint: () => issuer.mintToken(),
      failWith: 503,
    });
    try {
      remember(service.requestToken);
      const error = keep(
        await failureOf(
          fetchGithubActionsToken({
            requestUrl: service.requestUrl,
            requestToken: service.requestToken,
            audience: 'sigstore',
            http,
          }),
        ),
      );
      expectError('unavailable', 'IDENTITY_TOKEN_UNAVAILABLE', 'answered 503')(error);
    } finally {
      await service.stop();
    }
  });

  for (const [name, body, text] of [
    ['not JSON', 'value=abc', 'not JSON'],
    ['no value', '{"count":0}', 'without a token'],
    ['a numeric value', '{"count":1,"value":5}', 'without a token'],
    ['an array', '[]', 'without a token'],
    ['too much', `{"value":"${'a'.repeat(200_000)}"}`, 'more than'],
  ] as const) {
    test(`an answer with ${name} is IDENTITY_TOKEN_INVALID`, async () => {
      const service = await startGithubActionsTokenService({ mint: () => '', body });
      try {
        remember(service.requestToken);
        const error = keep(
          await failureOf(
            fetchGithubActionsToken({
              requestUrl: service.requestUrl,
              requestToken: service.requestToken,
              audience: 'sigstore',
              http,
            }),
          ),
        );
        expectError('invalid', 'IDENTITY_TOKEN_INVALID', text)(error);
      } finally {
        await service.stop();
      }
    });
  }

  test('a redirect to another origin does not carry the request token there', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const elsewhere = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(401).end();
    });
    const elsewherePort = await listenOnLoopback(elsewhere);
    const redirecting = createServer((_req, res) => {
      // Another port is another origin (RFC 6454 §4).
      res.writeHead(302, { location: `http://127.0.0.1:${elsewherePort}/idtoken` }).end();
    });
    const port = await listenOnLoopback(redirecting);
    try {
      const requestToken = 'redirected-request-token-0123456789';
      remember(requestToken);
      const error = keep(
        await failureOf(
          fetchGithubActionsToken({
            requestUrl: `http://127.0.0.1:${port}/idtoken?api-version=2.0`,
            requestToken,
            audience: 'sigstore',
            http,
          }),
        ),
      );
      expectError('unavailable', 'IDENTITY_TOKEN_UNAVAILABLE', 'answered 401')(error);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.authorization, undefined);
    } finally {
      redirecting.close();
      elsewhere.close();
    }
  });

  test('a service that cannot be reached: IDENTITY_TOKEN_UNAVAILABLE', async () => {
    const requestToken = 'unreachable-request-token-0123456789';
    remember(requestToken);
    const error = keep(
      await failureOf(
        fetchGithubActionsToken({
          requestUrl: 'http://127.0.0.1:1/idtoken?api-version=2.0',
          requestToken,
          audience: 'sigstore',
          http,
        }),
      ),
    );
    expectError('unavailable', 'IDENTITY_TOKEN_UNAVAILABLE', 'cannot get a token from')(error);
  });

  test('a request URL that is not HTTPS off loopback is refused before any request', async () => {
    const error = keep(
      await failureOf(
        fetchGithubActionsToken({
          requestUrl: 'http://pipelines.example.com/idtoken?api-version=2.0',
          requestToken: 'never-sent-token-0123456789abcdef',
          audience: 'sigstore',
          http,
        }),
      ),
    );
    remember('never-sent-token-0123456789abcdef');
    expectError('invalid', 'IDENTITY_TOKEN_INVALID', 'is not HTTPS')(error);
  });
});

describe('OIDC device flow', () => {
  const http = quickHttp();
  after(() => http.close());

  for (const algorithm of ['ES256', 'RS256'] as const) {
    test(`happy path (${algorithm}): discovery, PKCE S256, prompt, approval, id_token`, async () => {
      const issuer = await startOidcIssuer({ algorithm });
      try {
        const time = fakeTime();
        const prompts: unknown[] = [];
        const token = await deviceFlowToken(
          flowOptions(
            issuer,
            http,
            (prompt) => {
              prompts.push(prompt);
              issuer.approve();
            },
            time,
          ),
        );
        remember(token);
        assert.deepEqual(issuer.issued, [token]);
        const [request] = issuer.deviceRequests;
        assert.deepEqual(
          { ...request, codeChallenge: typeof request?.codeChallenge },
          {
            clientId: 'sigstore',
            scope: 'openid email',
            codeChallenge: 'string',
            codeChallengeMethod: 'S256',
            authorization: undefined,
          },
        );
        const [poll] = issuer.polls;
        assert.equal(poll?.grantType, 'urn:ietf:params:oauth:grant-type:device_code');
        assert.equal(poll?.clientId, 'sigstore');
        assert.match(poll?.codeVerifier ?? '', /^[A-Za-z0-9_-]{43}$/);
        assert.equal(
          createHash('sha256')
            .update(poll?.codeVerifier ?? '')
            .digest('base64url'),
          request?.codeChallenge,
        );
        assert.equal(prompts.length, 1);
        const prompt = prompts[0] as Record<string, unknown>;
        assert.equal(prompt.verificationUri, `${issuer.url}/device`);
        assert.match(
          String(prompt.verificationUriComplete),
          /\/device\?user_code=[A-Z]{4}-[A-Z]{4}$/,
        );
        assert.match(String(prompt.userCode), /^[A-Z]{4}-[A-Z]{4}$/);
        assert.equal(prompt.expiresIn, 300);
        assert.deepEqual(time.sleeps, [1000], 'one interval before the first poll');
        const identity = checkIdentityToken(token, { audience: 'sigstore' });
        assert.equal(identity.issuer, issuer.url);
        assert.equal(identity.subject, 'alice@example.com');
      } finally {
        await issuer.stop();
      }
    });
  }

  test('authorization_pending polls again at the interval; slow_down adds 5 s for good', async () => {
    const issuer = await startOidcIssuer({ interval: 2 });
    try {
      issuer.script('authorization_pending', 'slow_down', 'authorization_pending');
      const time = fakeTime();
      const token = await deviceFlowToken(flowOptions(issuer, http, () => issuer.approve(), time));
      remember(token);
      assert.deepEqual(
        issuer.polls.map((p) => p.answer),
        ['authorization_pending', 'slow_down', 'authorization_pending', 'id_token'],
      );
      assert.deepEqual(time.sleeps, [2000, 2000, 7000, 7000]);
    } finally {
      await issuer.stop();
    }
  });

  test('without an interval the flow polls every 5 s (RFC 8628 §3.2)', async () => {
    const issuer = await startOidcIssuer({ interval: null });
    try {
      issuer.script('authorization_pending');
      const time = fakeTime();
      remember(await deviceFlowToken(flowOptions(issuer, http, () => issuer.approve(), time)));
      assert.deepEqual(time.sleeps, [5000, 5000]);
    } finally {
      await issuer.stop();
    }
  });

  test('access_denied ends the flow: OIDC_ACCESS_DENIED', async () => {
    const issuer = await startOidcIssuer();
    try {
      const error = keep(
        await failureOf(deviceFlowToken(flowOptions(issuer, http, () => issuer.deny()))),
      );
      expectError('unavailable', 'OIDC_ACCESS_DENIED', 'denied')(error);
      assert.equal(issuer.polls.length, 1);
    } finally {
      await issuer.stop();
    }
  });

  test('expired_token ends the flow: OIDC_DEVICE_CODE_EXPIRED', async () => {
    const issuer = await startOidcIssuer();
    try {
      issuer.script('authorization_pending');
      const error = keep(
        await failureOf(deviceFlowToken(flowOptions(issuer, http, () => issuer.expire()))),
      );
      expectError('unavailable', 'OIDC_DEVICE_CODE_EXPIRED', 'expired_token')(error);
      assert.equal(issuer.polls.length, 2);
    } finally {
      await issuer.stop();
    }
  });

  test('nobody approves: the flow gives up when the code expires (expires_in)', async () => {
    const issuer = await startOidcIssuer({ interval: 2, expiresIn: 9 });
    try {
      const time = fakeTime();
      const error = keep(
        await failureOf(deviceFlowToken(flowOptions(issuer, http, () => {}, time))),
      );
      expectError('unavailable', 'OIDC_DEVICE_CODE_EXPIRED', 'expired after 9 s')(error);
      assert.deepEqual(time.sleeps, [2000, 2000, 2000, 2000]);
      assert.equal(issuer.polls.length, 4);
    } finally {
      await issuer.stop();
    }
  });

  test('the caller signal stops the wait at once', async () => {
    const issuer = await startOidcIssuer({ interval: 30 });
    try {
      const stop = new AbortController();
      const error = keep(
        await within(
          failureOf(
            deviceFlowToken({
              issuer: issuer.url,
              clientId: issuer.clientId,
              http,
              onPrompt: () => setTimeout(() => stop.abort(), 20),
              signal: stop.signal,
            }),
          ),
          5000,
          'the stopped device flow',
        ),
      );
      expectError('unavailable', 'ABORTED', 'device flow')(error);
      assert.equal(issuer.polls.length, 0);
    } finally {
      await issuer.stop();
    }
  });

  test('a client secret goes in HTTP Basic, form-urlencoded (RFC 6749 §2.3.1)', async () => {
    const clientSecret = 'a secret: with+symbols/&=';
    remember(clientSecret);
    const issuer = await startOidcIssuer({ clientId: 'vouch cli', clientSecret });
    try {
      const token = await deviceFlowToken({
        ...flowOptions(issuer, http, () => issuer.approve()),
        clientSecret,
      });
      remember(token);
      assert.ok(issuer.deviceRequests[0]?.authorization?.startsWith('Basic '));
      assert.ok(issuer.polls[0]?.authorization?.startsWith('Basic '));
      const refused = keep(await failureOf(deviceFlowToken(flowOptions(issuer, http, () => {}))));
      expectError('unavailable', 'IDENTITY_TOKEN_UNAVAILABLE', '"invalid_client"')(refused);
    } finally {
      await issuer.stop();
    }
  });

  for (const [name, discovery, text] of [
    [
      'names another issuer',
      { issuer: 'https://oauth2.sigstore.dev/auth' },
      'names the issuer "https://oauth2.sigstore.dev/auth"',
    ],
    ['names no issuer', { issuer: undefined }, 'names no issuer'],
    ['offers no PKCE', { code_challenge_methods_supported: undefined }, 'PKCE with S256'],
    ['offers only plain PKCE', { code_challenge_methods_supported: ['plain'] }, 'PKCE with S256'],
    [
      'has no device endpoint',
      { device_authorization_endpoint: undefined },
      'does not offer the device flow',
    ],
    [
      'has an http token endpoint off loopback',
      { token_endpoint: 'http://oauth2.example.com/token' },
      'is not HTTPS',
    ],
    [
      'has a device endpoint that is no URL',
      { device_authorization_endpoint: 'not a url' },
      'is not a URL',
    ],
  ] as const) {
    test(`a discovery document that ${name}: OIDC_ISSUER_INVALID before any flow`, async () => {
      const issuer = await startOidcIssuer({ discovery });
      try {
        const error = keep(await failureOf(deviceFlowToken(flowOptions(issuer, http, () => {}))));
        expectError('invalid', 'OIDC_ISSUER_INVALID', text)(error);
        assert.equal(issuer.deviceRequests.length, 0);
      } finally {
        await issuer.stop();
      }
    });
  }

  test('an issuer that cannot be reached: IDENTITY_TOKEN_UNAVAILABLE naming it', async () => {
    const error = keep(
      await failureOf(
        deviceFlowToken({
          issuer: 'http://127.0.0.1:1/auth',
          clientId: 'sigstore',
          http,
          onPrompt: () => {},
        }),
      ),
    );
    expectError(
      'unavailable',
      'IDENTITY_TOKEN_UNAVAILABLE',
      'cannot reach the OIDC issuer "http://127.0.0.1:1/auth"',
    )(error);
  });

  test('an issuer URL off loopback over plain http is refused before any request', async () => {
    const error = keep(
      await failureOf(
        deviceFlowToken({
          issuer: 'http://oauth2.example.com/auth',
          clientId: 'sigstore',
          http,
          onPrompt: () => {},
        }),
      ),
    );
    expectError('invalid', 'OIDC_ISSUER_INVALID', 'is not HTTPS')(error);
  });

  for (const [name, answer, text] of [
    ['a user code with an escape sequence', { user_code: 'ABCD\u001b[2J' }, 'user_code'],
    [
      'a javascript: verification URI',
      { verification_uri: 'javascript:alert(1)' },
      'verification_uri',
    ],
    ['no expires_in', { expires_in: undefined }, 'expires_in'],
    ['no device code', { device_code: undefined }, 'device_code'],
  ] as const) {
    test(`a device authorization with ${name} is IDENTITY_TOKEN_INVALID, nothing prompted`, async () => {
      const issuer = await startOidcIssuer({ deviceAuthorization: answer });
      try {
        let prompted = false;
        const error = keep(
          await failureOf(
            deviceFlowToken(
              flowOptions(issuer, http, () => {
                prompted = true;
              }),
            ),
          ),
        );
        expectError('invalid', 'IDENTITY_TOKEN_INVALID', text)(error);
        assert.equal(prompted, false);
      } finally {
        await issuer.stop();
      }
    });
  }

  test('an id_token from another issuer is refused', async () => {
    const issuer = await startOidcIssuer();
    try {
      const error = keep(
        await failureOf(
          deviceFlowToken(
            flowOptions(issuer, http, () => issuer.approve({ iss: 'https://evil.example.com' })),
          ),
        ),
      );
      expectError(
        'invalid',
        'IDENTITY_TOKEN_INVALID',
        'was issued by "https://evil.example.com"',
      )(error);
      remember(...issuer.issued);
    } finally {
      await issuer.stop();
    }
  });
});

describe('resolveIdentityToken, end to end', () => {
  let issuer: TestOidcIssuer;
  let dir: string;
  before(async () => {
    issuer = await startOidcIssuer();
    dir = await mkdtemp(join(tmpdir(), 'vouch-identity-token-'));
  });
  after(async () => {
    await issuer.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('order: --identity-token, then $SIGSTORE_ID_TOKEN, then GitHub Actions, then the device flow', async () => {
    const service = await startGithubActionsTokenService({
      mint: (audience) => issuer.mintToken(githubActionsClaims(audience)),
    });
    try {
      remember(service.requestToken);
      const github = {
        ACTIONS_ID_TOKEN_REQUEST_URL: service.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: service.requestToken,
      };
      const flagToken = issuer.mintToken({ sub: 'flag', email: undefined });
      const envToken = issuer.mintToken({ sub: 'env', email: undefined });
      const file = join(dir, 'token');
      await writeFile(file, `${issuer.mintToken({ sub: 'file', email: undefined })}\n`);
      remember(flagToken, envToken);
      const flows = issuer.deviceRequests.length;
      const env = { SIGSTORE_ID_TOKEN: envToken, ...github };
      const cases = [
        [{ identityToken: flagToken }, env, 'flag', 'flag'],
        [{ identityToken: `@${file}` }, env, 'file', 'file'],
        [{}, env, 'env', 'env'],
        [{}, github, 'github-actions', 'repo:octo/app:ref:refs/heads/main'],
      ] as const;
      for (const [overrides, environment, source, subject] of cases) {
        const run = cliIo(environment, true);
        const resolved = await resolveIdentityToken(
          run.io,
          settings({ oidcIssuer: issuer.url, ...overrides }),
          {
            audience: 'sigstore',
          },
        );
        remember(resolved.token);
        assert.deepEqual([resolved.source, resolved.identity.subject], [source, subject]);
        assert.equal(run.stderr(), '');
      }
      assert.equal(
        service.requests.length,
        1,
        'GitHub Actions asked only when nothing came before',
      );
      assert.equal(
        issuer.deviceRequests.length,
        flows,
        'no device flow while another source applies',
      );
    } finally {
      await service.stop();
    }
  });

  test('GitHub Actions: the token is asked for the caller audience and checked', async () => {
    const service = await startGithubActionsTokenService({
      // A service that ignores the audience asked for: vouch refuses what it sends.
      mint: () => issuer.mintToken(githubActionsClaims('api://AzureADTokenExchange')),
    });
    try {
      remember(service.requestToken);
      const run = cliIo(
        {
          ACTIONS_ID_TOKEN_REQUEST_URL: service.requestUrl,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: service.requestToken,
        },
        false,
      );
      const error = keep(
        await failureOf(resolveIdentityToken(run.io, settings(), { audience: 'sigstore' })),
      );
      expectError(
        'invalid',
        'IDENTITY_TOKEN_AUDIENCE',
        'the identity token from GitHub Actions',
      )(error);
      assert.deepEqual(service.requests[0]?.audiences, ['sigstore']);
      run.stderr();
    } finally {
      await service.stop();
    }
  });

  test('GitHub Actions with a wrong request token: unavailable, the bearer never shown', async () => {
    const service = await startGithubActionsTokenService({ mint: () => issuer.mintToken() });
    try {
      const wrong = 'wrong-request-token-abcdefghijklmnop';
      remember(wrong, service.requestToken);
      const run = cliIo(
        { ACTIONS_ID_TOKEN_REQUEST_URL: service.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: wrong },
        false,
      );
      const error = keep(
        await failureOf(resolveIdentityToken(run.io, settings(), { audience: 'sigstore' })),
      );
      expectError('unavailable', 'IDENTITY_TOKEN_UNAVAILABLE', '401')(error);
      run.stderr();
    } finally {
      await service.stop();
    }
  });

  test('on a terminal with no other source: the device flow, its prompt on stderr', async () => {
    const run = cliIo({}, true, (text) => {
      if (text.includes('Waiting for the sign-in')) issuer.approve();
    });
    const resolved = await within(
      resolveIdentityToken(run.io, settings({ oidcIssuer: issuer.url }), { audience: 'sigstore' }),
      15_000,
      'the device flow',
    );
    remember(resolved.token);
    assert.equal(resolved.source, 'device-flow');
    assert.equal(resolved.identity.subject, 'alice@example.com');
    assert.equal(resolved.identity.issuer, issuer.url);
    const stderr = run.stderr();
    const userCode = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(stderr)?.[1];
    assert.ok(userCode !== undefined, stderr);
    assert.ok(stderr.includes(`${issuer.url}/device\n`), stderr);
    assert.ok(stderr.includes(`${issuer.url}/device?user_code=${userCode}`), stderr);
    assert.ok(stderr.includes('valid for 5 minutes'), stderr);
  });

  test('the device flow with --oidc-client-id and --oidc-client-secret-file', async () => {
    const clientSecret = 'file-secret-0123456789';
    remember(clientSecret);
    const own = await startOidcIssuer({ clientId: 'vouch', clientSecret });
    try {
      const secretFile = join(dir, 'secret');
      await writeFile(secretFile, `${clientSecret}\n`);
      const run = cliIo({}, true, (text) => {
        if (text.includes('Waiting for the sign-in')) own.approve();
      });
      const resolved = await within(
        resolveIdentityToken(
          run.io,
          settings({
            oidcIssuer: own.url,
            oidcClientId: 'vouch',
            oidcClientSecretFile: secretFile,
          }),
          { audience: 'sigstore' },
        ),
        15_000,
        'the device flow',
      );
      remember(resolved.token);
      assert.deepEqual(
        resolved.identity.audiences,
        ['vouch'],
        'the client ID is an accepted audience',
      );
      run.stderr();
    } finally {
      await own.stop();
    }
  });

  test('the device flow denied: unavailable, stderr has the prompt and no token', async () => {
    const run = cliIo({}, true, (text) => {
      if (text.includes('Waiting for the sign-in')) issuer.deny();
    });
    const error = keep(
      await within(
        failureOf(
          resolveIdentityToken(run.io, settings({ oidcIssuer: issuer.url }), {
            audience: 'sigstore',
          }),
        ),
        15_000,
        'the denied device flow',
      ),
    );
    expectError('unavailable', 'OIDC_ACCESS_DENIED')(error);
    assert.ok(run.stderr().includes('enter the code'));
  });

  test('an expired token is refused before anything else happens', async () => {
    const token = issuer.mintToken({ exp: Math.floor(Date.now() / 1000) - 600 });
    remember(token);
    const run = cliIo({ SIGSTORE_ID_TOKEN: token }, true);
    const flows = issuer.deviceRequests.length;
    const error = keep(
      await failureOf(
        resolveIdentityToken(run.io, settings({ oidcIssuer: issuer.url }), {
          audience: 'sigstore',
        }),
      ),
    );
    expectError('invalid', 'IDENTITY_TOKEN_EXPIRED', 'alice@example.com')(error);
    assert.equal(issuer.deviceRequests.length, flows, 'no device flow once a source applied');
    run.stderr();
  });

  test('a token for another audience is refused', async () => {
    const token = issuer.mintToken({ aud: ['other', 'another'] });
    remember(token);
    const run = cliIo({}, false);
    const error = keep(
      await failureOf(
        resolveIdentityToken(run.io, settings({ identityToken: token }), { audience: 'sigstore' }),
      ),
    );
    expectError('invalid', 'IDENTITY_TOKEN_AUDIENCE', '"other", "another", not "sigstore"')(error);
    run.stderr();
  });

  // Runs last in this file (node:test runs a file's tests in order).
  test('no token, request token or client secret ever appeared in a message or on stderr', () => {
    assert.ok(secrets.size > 20, `only ${secrets.size} secrets were checked`);
    assert.ok(outputs.length > 40, `only ${outputs.length} outputs were checked`);
    for (const output of outputs) {
      for (const secret of secrets) {
        assert.ok(!output.includes(secret), `a secret appears in: ${output.slice(0, 300)}`);
      }
    }
  });
});
