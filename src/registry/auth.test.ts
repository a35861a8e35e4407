import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import { parseChallenges, RegistryAuth, repositoryScope } from './auth.ts';
import type { Credentials } from './credentials.ts';
import type { HttpClient, HttpRequest, HttpResponse } from './http.ts';

describe('parseChallenges', () => {
  test('a typical bearer challenge', () => {
    assert.deepEqual(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/alpine:pull',
          },
        },
      ],
    );
  });

  test('commas and escaped quotes inside quoted strings', () => {
    const [challenge] = parseChallenges(
      'Bearer realm="https://a.example/token",scope="repository:x:pull,push",error="say \\"hi\\", then go"',
    );
    assert.deepEqual(challenge?.params, {
      realm: 'https://a.example/token',
      scope: 'repository:x:pull,push',
      error: 'say "hi", then go',
    });
  });

  test('a quoted string may contain what looks like another challenge', () => {
    const challenges = parseChallenges('Bearer realm="x, Basic realm=y"');
    assert.equal(challenges.length, 1);
    assert.deepEqual(challenges[0]?.params, { realm: 'x, Basic realm=y' });
  });

  test('several challenges in one header', () => {
    assert.deepEqual(
      parseChallenges(
        'Basic realm="Registry Realm", Bearer realm="https://t.example/",service=reg',
      ),
      [
        { scheme: 'basic', params: { realm: 'Registry Realm' } },
        { scheme: 'bearer', params: { realm: 'https://t.example/', service: 'reg' } },
      ],
    );
  });

  test('scheme and parameter names are case-insensitive', () => {
    assert.deepEqual(parseChallenges('BEARER Realm="https://t.example/", SERVICE="Reg"'), [
      { scheme: 'bearer', params: { realm: 'https://t.example/', service: 'Reg' } },
    ]);
  });

  test('unquoted token values and spaces around "="', () => {
    assert.deepEqual(parseChallenges('Bearer realm = https://t.example/token , service=reg'), [
      { scheme: 'bearer', params: { realm: 'https://t.example/token', service: 'reg' } },
    ]);
  });

  test('a scheme without parameters, and an empty quoted value', () => {
    assert.deepEqual(parseChallenges('Bearer'), [{ scheme: 'bearer', params: {} }]);
    assert.deepEqual(parseChallenges('Basic realm=""'), [
      { scheme: 'basic', params: { realm: '' } },
    ]);
  });

  test('parameters before any scheme, and empty input, give nothing', () => {
    assert.deepEqual(parseChallenges('realm="https://t.example/"'), []);
    assert.deepEqual(parseChallenges(''), []);
    assert.deepEqual(parseChallenges('   '), []);
  });
});

describe('repositoryScope', () => {
  test('builds the token-spec scope', () => {
    assert.equal(repositoryScope('a/b', ['pull', 'push']), 'repository:a/b:pull,push');
  });

  test('refuses a repository with a space (it would split the scope list)', () => {
    assert.throws(
      () => repositoryScope('a b', ['pull']),
      expectError('invalid', 'INVALID_REFERENCE'),
    );
  });
});

interface FakeAnswer {
  readonly status: number;
  readonly body: string;
}

/** An HttpClient stand-in that records requests and answers from `answer`. */
function fakeHttp(answer: (request: HttpRequest, n: number) => FakeAnswer): {
  http: HttpClient;
  requests: HttpRequest[];
} {
  const requests: HttpRequest[] = [];
  const http = {
    send(request: HttpRequest): Promise<HttpResponse> {
      requests.push(request);
      const { status, body } = answer(request, requests.length);
      return Promise.resolve({
        status,
        url: request.url,
        headers: {},
        body: Readable.from([Buffer.from(body)]) as unknown as HttpResponse['body'],
      });
    },
  } as unknown as HttpClient;
  return { http, requests };
}

const SCOPE = 'repository:a/b:pull';
const REALM = 'https://auth.example/token';
const CHALLENGE = `Bearer realm="${REALM}",service="reg.example"`;

function makeAuth(
  http: HttpClient,
  options: {
    credentials?: Credentials;
    now?: () => number;
    registry?: string;
    allowInsecure?: boolean;
  } = {},
): RegistryAuth {
  return new RegistryAuth({
    http,
    registry: options.registry ?? 'reg.example',
    credentials: () => Promise.resolve(options.credentials),
    allowInsecure: options.allowInsecure ?? false,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

function tokenAnswer(token: (n: number) => unknown, expiresIn?: number) {
  return (_request: HttpRequest, n: number): FakeAnswer => ({
    status: 200,
    body: JSON.stringify({
      token: token(n),
      ...(expiresIn === undefined ? {} : { expires_in: expiresIn }),
    }),
  });
}

describe('RegistryAuth', () => {
  test('no challenge learned: no authorization, no request', async () => {
    const { http, requests } = fakeHttp(tokenAnswer(() => 't'));
    const auth = makeAuth(http);
    assert.equal(await auth.authorization([SCOPE]), undefined);
    auth.learn(undefined);
    assert.equal(await auth.authorization([SCOPE]), undefined);
    assert.equal(requests.length, 0);
  });

  test('a bearer token is fetched with service and scopes, then cached per scope set', async () => {
    const { http, requests } = fakeHttp(tokenAnswer((n) => `t${n}`, 300));
    const auth = makeAuth(http);
    auth.learn(`${CHALLENGE},scope="registry:catalog:*"`);
    assert.equal(await auth.authorization([SCOPE]), 'Bearer t1');
    assert.equal(await auth.authorization([SCOPE]), 'Bearer t1');
    assert.equal(requests.length, 1);
    const url = requests[0]?.url;
    assert.equal(url?.origin + (url?.pathname ?? ''), REALM);
    assert.equal(url?.searchParams.get('service'), 'reg.example');
    assert.deepEqual(url?.searchParams.getAll('scope'), [SCOPE, 'registry:catalog:*']);
    assert.equal(requests[0]?.headers?.authorization, undefined, 'anonymous');
    // Another scope set is another token; the order of scopes does not matter.
    const other = 'repository:c/d:pull';
    assert.equal(await auth.authorization([SCOPE, other]), 'Bearer t2');
    assert.equal(await auth.authorization([other, SCOPE]), 'Bearer t2');
    assert.equal(requests.length, 2);
  });

  test('concurrent requests for one scope set share one token request', async () => {
    const { http, requests } = fakeHttp(tokenAnswer((n) => `t${n}`));
    const auth = makeAuth(http);
    auth.learn(CHALLENGE);
    const headers = await Promise.all([1, 2, 3, 4].map(() => auth.authorization([SCOPE])));
    assert.deepEqual(headers, ['Bearer t1', 'Bearer t1', 'Bearer t1', 'Bearer t1']);
    assert.equal(requests.length, 1);
  });

  test('a token is refreshed ten seconds before expires_in runs out', async () => {
    let clock = 1_000_000;
    const { http, requests } = fakeHttp(tokenAnswer((n) => `t${n}`, 60));
    const auth = makeAuth(http, { now: () => clock });
    auth.learn(CHALLENGE);
    assert.equal(await auth.authorization([SCOPE]), 'Bearer t1');
    clock += 49_999;
    assert.equal(await auth.authorization([SCOPE]), 'Bearer t1');
    clock += 1;
    assert.equal(await auth.authorization([SCOPE]), 'Bearer t2');
    assert.equal(requests.length, 2);
  });

  test('without expires_in (or with a nonsensical one) a token lives 60 s', async () => {
    for (const expiresIn of [undefined, -5, 0]) {
      let clock = 0;
      const { http, requests } = fakeHttp(tokenAnswer((n) => `t${n}`, expiresIn));
      const auth = makeAuth(http, { now: () => clock });
      auth.learn(CHALLENGE);
      await auth.authorization([SCOPE]);
      clock = 49_999;
      assert.equal(await auth.authorization([SCOPE]), 'Bearer t1');
      clock = 50_000;
      assert.equal(await auth.authorization([SCOPE]), 'Bearer t2');
      assert.equal(requests.length, 2, `expires_in ${expiresIn}`);
    }
  });

  test('access_token is accepted when token is absent', async () => {
    const { http } = fakeHttp(() => ({ status: 200, body: '{"access_token":"oauth"}' }));
    const auth = makeAuth(http);
    auth.learn(CHALLENGE);
    assert.equal(await auth.authorization([SCOPE]), 'Bearer oauth');
  });

  test('credentials go to the token server as Basic', async () => {
    const { http, requests } = fakeHttp(tokenAnswer(() => 't'));
    const auth = makeAuth(http, { credentials: { username: 'alice', password: 'pw:1' } });
    auth.learn(CHALLENGE);
    await auth.authorization([SCOPE]);
    assert.equal(
      requests[0]?.headers?.authorization,
      `Basic ${Buffer.from('alice:pw:1').toString('base64')}`,
    );
    assert.equal(requests[0]?.method, 'GET');
  });

  test('an identity token uses the OAuth2 refresh-token grant', async () => {
    const { http, requests } = fakeHttp(tokenAnswer(() => 't'));
    const auth = makeAuth(http, {
      credentials: { identityToken: 'refresh-me' },
    });
    auth.learn(CHALLENGE);
    assert.equal(await auth.authorization([SCOPE]), 'Bearer t');
    const request = requests[0];
    assert.equal(request?.method, 'POST');
    assert.equal(request?.headers?.authorization, undefined);
    const form = new URLSearchParams(Buffer.from(request?.body as Uint8Array).toString('utf8'));
    assert.equal(form.get('grant_type'), 'refresh_token');
    assert.equal(form.get('refresh_token'), 'refresh-me');
    assert.equal(form.get('service'), 'reg.example');
    assert.equal(form.get('scope'), SCOPE);
  });

  test('a basic challenge sends the credentials directly, and nothing without them', async () => {
    const { http, requests } = fakeHttp(tokenAnswer(() => 't'));
    const withCredentials = makeAuth(http, { credentials: { username: 'u', password: 'p' } });
    withCredentials.learn('Basic realm="reg"');
    assert.equal(
      await withCredentials.authorization([SCOPE]),
      `Basic ${Buffer.from('u:p').toString('base64')}`,
    );
    const anonymous = makeAuth(http);
    anonymous.learn('Basic realm="reg"');
    assert.equal(await anonymous.authorization([SCOPE]), undefined);
    // An identity token is for a token service, never sent as Basic.
    const identity = makeAuth(http, { credentials: { identityToken: 'refresh' } });
    identity.learn('Basic realm="reg"');
    assert.equal(await identity.authorization([SCOPE]), undefined);
    assert.equal(requests.length, 0);
  });

  test('bearer is preferred when both schemes are offered', async () => {
    const { http } = fakeHttp(tokenAnswer(() => 'tok'));
    const auth = makeAuth(http, { credentials: { username: 'u', password: 'p' } });
    auth.learn(`Basic realm="reg", ${CHALLENGE}`);
    assert.equal(await auth.authorization([SCOPE]), 'Bearer tok');
  });

  test('an unknown scheme sends nothing', async () => {
    const { http } = fakeHttp(tokenAnswer(() => 'tok'));
    const auth = makeAuth(http, { credentials: { username: 'u', password: 'p' } });
    auth.learn('Negotiate');
    assert.equal(await auth.authorization([SCOPE]), undefined);
  });

  test('retryAuthorization forgets the refused token and offers a new one once', async () => {
    const { http, requests } = fakeHttp(tokenAnswer((n) => `t${n}`, 300));
    const auth = makeAuth(http);
    auth.learn(CHALLENGE);
    const first = await auth.authorization([SCOPE]);
    assert.equal(first, 'Bearer t1');
    const retry = await auth.retryAuthorization(CHALLENGE, [SCOPE], first);
    assert.equal(retry, 'Bearer t2');
    assert.equal(requests.length, 2);
  });

  test('retryAuthorization gives up when the token server hands back the same token', async () => {
    const { http } = fakeHttp(tokenAnswer(() => 'same', 300));
    const auth = makeAuth(http);
    auth.learn(CHALLENGE);
    const first = await auth.authorization([SCOPE]);
    assert.equal(await auth.retryAuthorization(CHALLENGE, [SCOPE], first), undefined);
  });

  test('retryAuthorization gives up when no challenge is known', async () => {
    const { http } = fakeHttp(tokenAnswer(() => 't'));
    const auth = makeAuth(http);
    assert.equal(await auth.retryAuthorization(undefined, [SCOPE], undefined), undefined);
  });

  describe('refusals', () => {
    const cases: Array<[string, string, (n: number) => FakeAnswer, string, string]> = [
      [
        'no realm',
        'Bearer service="reg"',
        () => ({ status: 200, body: '' }),
        'unavailable',
        'AUTH_CHALLENGE_INVALID',
      ],
      [
        'a realm that is not a URL',
        'Bearer realm="::not a url::"',
        () => ({ status: 200, body: '' }),
        'unavailable',
        'AUTH_CHALLENGE_INVALID',
      ],
      [
        'a plain-HTTP realm off loopback',
        'Bearer realm="http://auth.example/token"',
        () => ({ status: 200, body: '' }),
        'unavailable',
        'AUTH_CHALLENGE_INVALID',
      ],
      [
        'a file: realm',
        'Bearer realm="file:///etc/passwd"',
        () => ({ status: 200, body: '' }),
        'unavailable',
        'AUTH_CHALLENGE_INVALID',
      ],
      [
        'a token server answering 401',
        CHALLENGE,
        () => ({ status: 401, body: '' }),
        'unavailable',
        'UNAUTHORIZED',
      ],
      [
        'a token server answering 403',
        CHALLENGE,
        () => ({ status: 403, body: '' }),
        'unavailable',
        'UNAUTHORIZED',
      ],
      [
        'a token server answering 500',
        CHALLENGE,
        () => ({ status: 500, body: '' }),
        'unavailable',
        'TOKEN_REQUEST_FAILED',
      ],
      [
        'a token response that is not JSON',
        CHALLENGE,
        () => ({ status: 200, body: '<html>' }),
        'unavailable',
        'TOKEN_RESPONSE_INVALID',
      ],
      [
        'a JSON null',
        CHALLENGE,
        () => ({ status: 200, body: 'null' }),
        'unavailable',
        'TOKEN_RESPONSE_INVALID',
      ],
      [
        'an empty token',
        CHALLENGE,
        () => ({ status: 200, body: '{"token":""}' }),
        'unavailable',
        'TOKEN_RESPONSE_INVALID',
      ],
      [
        'a token with CRLF',
        CHALLENGE,
        () => ({ status: 200, body: '{"token":"a\\r\\nb"}' }),
        'unavailable',
        'TOKEN_RESPONSE_INVALID',
      ],
      [
        'a token response over the size cap',
        CHALLENGE,
        () => ({ status: 200, body: `{"token":"${'x'.repeat(2 * 1024 * 1024)}"}` }),
        'unavailable',
        'TOKEN_RESPONSE_INVALID',
      ],
    ];
    for (const [name, challenge, answer, category, code] of cases) {
      test(name, async () => {
        const { http } = fakeHttp((_request, n) => answer(n));
        const auth = makeAuth(http);
        auth.learn(challenge);
        await assert.rejects(auth.authorization([SCOPE]), expectError(category, code));
      });
    }

    test('a plain-HTTP realm is allowed on loopback and when insecure is allowed', async () => {
      for (const [realm, allowInsecure] of [
        ['http://127.0.0.1:5000/token', false],
        ['http://localhost/token', false],
        ['http://auth.example/token', true],
      ] as const) {
        const { http } = fakeHttp(tokenAnswer(() => 'ok'));
        const auth = makeAuth(http, { allowInsecure });
        auth.learn(`Bearer realm="${realm}"`);
        assert.equal(await auth.authorization([SCOPE]), 'Bearer ok', realm);
      }
    });

    test('a failed token request is not cached: the next call asks again', async () => {
      const { http, requests } = fakeHttp((_request, n) =>
        n === 1 ? { status: 500, body: '' } : { status: 200, body: '{"token":"late"}' },
      );
      const auth = makeAuth(http);
      auth.learn(CHALLENGE);
      await assert.rejects(
        auth.authorization([SCOPE]),
        expectError('unavailable', 'TOKEN_REQUEST_FAILED'),
      );
      assert.equal(await auth.authorization([SCOPE]), 'Bearer late');
      assert.equal(requests.length, 2);
    });
  });
});
