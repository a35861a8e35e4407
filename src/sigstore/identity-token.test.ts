import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import {
  checkIdentityToken,
  MAX_IDENTITY_TOKEN_BYTES,
  parseIdentityToken,
  SIGSTORE_AUDIENCE,
} from './identity-token.ts';

const NOW = new Date('2030-01-01T00:00:00Z');
const now = NOW.getTime() / 1000;

const encode = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT with these claims; the signature is not checked here, so any bytes do. */
function jwt(claims: unknown, header: unknown = { alg: 'ES256', typ: 'JWT', kid: 'k1' }): string {
  return `${encode(header)}.${encode(claims)}.${Buffer.from('signature bytes').toString('base64url')}`;
}

const GOOD = {
  iss: 'https://token.actions.githubusercontent.com',
  sub: 'repo:octo/app:ref:refs/heads/main',
  aud: 'sigstore',
  exp: now + 300,
  iat: now - 10,
  nbf: now - 10,
};

/** Asserts the token's text, and each of its parts, is nowhere in the error's message. */
function assertTokenNotIn(error: unknown, token: string): void {
  assert.ok(error instanceof Error);
  for (const part of [token, ...token.split('.')].filter((p) => p.length >= 4)) {
    assert.ok(!error.message.includes(part), `the message quotes the token: ${error.message}`);
  }
}

function refusal(token: string, code: string, text?: string, options = {}): void {
  let caught: unknown;
  assert.throws(
    () => checkIdentityToken(token, { audience: SIGSTORE_AUDIENCE, now: NOW, ...options }),
    (error: unknown) => {
      caught = error;
      return expectError('invalid', code, text)(error);
    },
  );
  assertTokenNotIn(caught, token);
}

describe('parseIdentityToken', () => {
  test('reads issuer, subject, audiences and times', () => {
    const token = parseIdentityToken(jwt({ ...GOOD, aud: ['sigstore', 'other'] }));
    assert.deepEqual(token, {
      issuer: GOOD.iss,
      subject: GOOD.sub,
      audiences: ['sigstore', 'other'],
      expiresAt: new Date((now + 300) * 1000),
      notBefore: new Date((now - 10) * 1000),
    });
  });

  test('the subject is a verified email when there is one, else sub', () => {
    const withEmail = jwt({ ...GOOD, email: 'dev@example.com', email_verified: true });
    assert.equal(parseIdentityToken(withEmail).subject, 'dev@example.com');
    assert.equal(parseIdentityToken(jwt({ ...GOOD, nbf: undefined })).notBefore, undefined);
  });

  test('fractional NumericDates are read as RFC 7519 allows', () => {
    assert.equal(parseIdentityToken(jwt({ ...GOOD, exp: 1.5 })).expiresAt.getTime(), 1500);
  });

  const bad: ReadonlyArray<readonly [string, string, string]> = [
    ['two parts', `${encode({ alg: 'ES256' })}.${encode(GOOD)}`, 'is not a JWT'],
    ['four parts', `${jwt(GOOD)}.x`, 'is not a JWT'],
    ['an encrypted token', `${jwt(GOOD)}.abcd.efgh`, 'encrypted'],
    ['no signature', `${encode({ alg: 'ES256' })}.${encode(GOOD)}.`, 'is not a JWT'],
    ['standard base64', jwt(GOOD).replace(/^./, '+'), 'is not a JWT'],
    ['padding', `${jwt(GOOD)}=`, 'is not a JWT'],
    ['an impossible base64 length', `${jwt(GOOD)}a`.replace(/\.[^.]*$/, '.abcde'), 'is not a JWT'],
    ['whitespace', ` ${jwt(GOOD)}`, 'is not a JWT'],
    ['alg none', jwt(GOOD, { alg: 'none' }), 'is not signed'],
    ['alg None', jwt(GOOD, { alg: 'None' }), 'is not signed'],
    ['no alg', jwt(GOOD, { typ: 'JWT' }), 'is not signed'],
    ['a header that is not JSON', `${encode('{')}.${encode(GOOD)}.c2ln`, 'header'],
    ['a header array', jwt(GOOD, ['ES256']), 'header'],
    ['claims that are not JSON', `${encode({ alg: 'ES256' })}.${encode('{"iss":')}.c2ln`, 'claims'],
    ['claims array', jwt([GOOD]), 'claims'],
    [
      'duplicate claims',
      `${encode({ alg: 'ES256' })}.${encode('{"iss":"a","iss":"b","sub":"s","aud":"sigstore","exp":1}')}.c2ln`,
      'claims',
    ],
    [
      'claims nested too deep',
      jwt({ ...GOOD, x: JSON.parse('['.repeat(20) + ']'.repeat(20)) }),
      'claims',
    ],
    [
      'claims not UTF-8',
      `${encode({ alg: 'ES256' })}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.c2ln`,
      'claims',
    ],
    ['no issuer', jwt({ ...GOOD, iss: undefined }), 'names no issuer'],
    ['an empty issuer', jwt({ ...GOOD, iss: '' }), 'names no issuer'],
    ['a numeric issuer', jwt({ ...GOOD, iss: 1 }), 'names no issuer'],
    ['no audience', jwt({ ...GOOD, aud: undefined }), 'names no audience'],
    ['an empty audience list', jwt({ ...GOOD, aud: [] }), 'names no audience'],
    ['a non-string audience', jwt({ ...GOOD, aud: ['sigstore', 2] }), 'names no audience'],
    ['no subject', jwt({ ...GOOD, sub: undefined }), 'names no subject'],
    ['an unverified email', jwt({ ...GOOD, email: 'a@b.c' }), 'not verified'],
    [
      'email_verified as a string',
      jwt({ ...GOOD, email: 'a@b.c', email_verified: 'true' }),
      'not verified',
    ],
    ['a numeric email', jwt({ ...GOOD, email: 5, email_verified: true }), 'email claim'],
    ['no expiry', jwt({ ...GOOD, exp: undefined }), 'no valid expiry'],
    ['a string expiry', jwt({ ...GOOD, exp: String(now + 300) }), 'no valid expiry'],
    ['a negative expiry', jwt({ ...GOOD, exp: -1 }), 'no valid expiry'],
    ['an expiry past year 9999', jwt({ ...GOOD, exp: 1e300 }), 'no valid expiry'],
    ['a string nbf', jwt({ ...GOOD, nbf: 'yesterday' }), 'invalid nbf'],
  ];
  for (const [name, token, text] of bad) {
    test(`refuses ${name}`, () => refusal(token, 'IDENTITY_TOKEN_INVALID', text));
  }

  test(`refuses a token longer than ${MAX_IDENTITY_TOKEN_BYTES} bytes before decoding it`, () => {
    refusal(
      jwt({ ...GOOD, pad: 'x'.repeat(MAX_IDENTITY_TOKEN_BYTES) }),
      'IDENTITY_TOKEN_INVALID',
      'longer than',
    );
  });

  test('messages name the issuer, shortened and with control characters escaped', () => {
    const issuer = `https://evil.example/\u001b[2J${'a'.repeat(300)}`;
    assert.throws(
      () => parseIdentityToken(jwt({ ...GOOD, iss: issuer, aud: 7 })),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.ok(error.message.includes('\\u001b[2J'), error.message);
        assert.ok(!error.message.includes('\u001b'), error.message);
        assert.ok(!error.message.includes('a'.repeat(201)), error.message);
        return true;
      },
    );
  });
});

describe('checkIdentityToken', () => {
  test('accepts a token for the audience, within its validity, and returns its claims', () => {
    const token = jwt({ ...GOOD, aud: ['other', 'sigstore'] });
    assert.equal(checkIdentityToken(token, { audience: 'sigstore', now: NOW }).subject, GOOD.sub);
  });

  test('any one of several audiences will do (sigstore, or the client ID)', () => {
    const token = jwt({ ...GOOD, aud: 'my-client' });
    const checked = checkIdentityToken(token, { audience: ['sigstore', 'my-client'], now: NOW });
    assert.deepEqual(checked.audiences, ['my-client']);
  });

  test('refuses a token for another audience, naming both', () => {
    const token = jwt({ ...GOOD, aud: ['api://AzureADTokenExchange'] });
    refusal(token, 'IDENTITY_TOKEN_AUDIENCE', '"api://AzureADTokenExchange", not "sigstore"');
  });

  test('refuses an expired token, naming the subject, the issuer and when it expired', () => {
    const token = jwt({ ...GOOD, exp: now - 61 });
    refusal(
      token,
      'IDENTITY_TOKEN_EXPIRED',
      `for "${GOOD.sub}" from "${GOOD.iss}" expired at 2029-12-31T23:58:59.000Z`,
    );
  });

  test('allows the clock skew, and no more', () => {
    assert.ok(
      checkIdentityToken(jwt({ ...GOOD, exp: now - 59 }), { audience: 'sigstore', now: NOW }),
    );
    refusal(jwt({ ...GOOD, exp: now - 1 }), 'IDENTITY_TOKEN_EXPIRED', 'expired', {
      skewSeconds: 0,
    });
    refusal(jwt({ ...GOOD, exp: now }), 'IDENTITY_TOKEN_EXPIRED', 'expired', { skewSeconds: 0 });
    assert.ok(
      checkIdentityToken(jwt({ ...GOOD, nbf: now + 59 }), { audience: 'sigstore', now: NOW }),
    );
    refusal(jwt({ ...GOOD, nbf: now + 61 }), 'IDENTITY_TOKEN_INVALID', 'not valid before');
  });

  test('the caller names the token in messages', () => {
    refusal(
      jwt({ ...GOOD, exp: now - 600 }),
      'IDENTITY_TOKEN_EXPIRED',
      'the token of $SIGSTORE_ID_TOKEN for',
      {
        what: 'the token of $SIGSTORE_ID_TOKEN',
      },
    );
  });

  test('checks the expiry before the audience (the first thing to fix)', () => {
    refusal(jwt({ ...GOOD, exp: now - 600, aud: 'x' }), 'IDENTITY_TOKEN_EXPIRED');
  });
});
