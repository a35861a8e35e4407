/**
 * hostnameMatches against Go's crypto/x509 `Certificate.VerifyHostname`
 * (verify_test.go TestVerifyHostname / matchHostnames cases), which pki's
 * `subjectHostname` uses (signature/pki_cert.go).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostnameMatches } from './certificate-signer.ts';

const names = (dns: string[], ips: number[][] = []) => ({
  emails: [],
  dns,
  ips: ips.map((ip) => new Uint8Array(ip)),
});

describe('hostnameMatches (Go VerifyHostname)', () => {
  it('matches DNS names case-insensitively and one leftmost wildcard label', () => {
    assert.equal(hostnameMatches(names(['example.com']), 'EXAMPLE.com'), true);
    assert.equal(hostnameMatches(names(['example.com']), 'example.com.'), true);
    assert.equal(hostnameMatches(names(['*.example.com']), 'www.example.com'), true);
    assert.equal(hostnameMatches(names(['*.example.com']), 'example.com'), false);
    assert.equal(hostnameMatches(names(['*.example.com']), 'a.b.example.com'), false);
    assert.equal(hostnameMatches(names(['www.*.com']), 'www.example.com'), false);
    assert.equal(hostnameMatches(names(['example.com']), 'example.org'), false);
    assert.equal(hostnameMatches(names([]), 'example.com'), false);
  });

  it('matches IP addresses only against IP SANs, IPv4 equal to its IPv6-mapped form', () => {
    assert.equal(hostnameMatches(names(['127.0.0.1'], []), '127.0.0.1'), false);
    assert.equal(hostnameMatches(names([], [[127, 0, 0, 1]]), '127.0.0.1'), true);
    const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 0, 0, 1];
    assert.equal(hostnameMatches(names([], [mapped]), '10.0.0.1'), true);
    const loopback6 = [...Array<number>(15).fill(0), 1];
    assert.equal(hostnameMatches(names([], [loopback6]), '[::1]'), true);
    assert.equal(hostnameMatches(names([], [loopback6]), '::2'), false);
  });
});
