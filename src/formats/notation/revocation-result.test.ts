/** notation-go's `revocationFinalResult`: revoked over unknown over ok, nearest the leaf named. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CertificateRevocation, chainRevocation } from './revocation-result.ts';

const cert = (
  subject: string,
  result: CertificateRevocation['result'],
  error?: string,
): CertificateRevocation => ({
  subject,
  result,
  method: result === 'non-revokable' ? 'none' : 'ocsp',
  servers: [
    {
      result,
      server: result === 'non-revokable' ? '' : `http://127.0.0.1/${subject}`,
      method: result === 'non-revokable' ? 'none' : 'ocsp',
      ...(error === undefined ? {} : { error }),
    },
  ],
});

test('ok and non-revokable certificates make an ok chain', () => {
  const result = chainRevocation([
    cert('leaf', 'ok'),
    cert('ca', 'non-revokable'),
    cert('root', 'non-revokable'),
  ]);
  assert.equal(result.result, 'ok');
  assert.equal(result.problem, undefined);
});

test('a revocation anywhere beats an unknown status nearer the leaf', () => {
  const result = chainRevocation([
    cert('leaf', 'unknown', 'no answer'),
    cert('ca', 'revoked', 'the certificate is revoked (OCSP)'),
    cert('root', 'non-revokable'),
  ]);
  assert.equal(result.result, 'revoked');
  assert.equal(result.problem?.subject, 'ca');
  assert.equal(result.problem?.index, 1);
  assert.match(
    result.problem?.message ?? '',
    /revoked according to OCSP http:\/\/127\.0\.0\.1\/ca/,
  );
});

test('unknown names the certificate nearest the leaf and every server error', () => {
  const result = chainRevocation([
    cert('leaf', 'ok'),
    cert('ca1', 'unknown', 'timed out'),
    cert('ca2', 'unknown', 'expired'),
    cert('root', 'non-revokable'),
  ]);
  assert.equal(result.result, 'unknown');
  assert.equal(result.problem?.subject, 'ca1');
  assert.equal(result.problem?.message, 'OCSP http://127.0.0.1/ca1: timed out');
});
