import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSubsetDN, parseDistinguishedName } from './distinguished-name.ts';

const MANDATORY = 'C=US,ST=WA,O=Notary';

function parsed(name: string): Record<string, string> {
  const result = parseDistinguishedName(name);
  assert.ok(result.ok, result.ok ? '' : result.problem);
  return Object.fromEntries(result.dn);
}

function problem(name: string): string {
  const result = parseDistinguishedName(name);
  assert.ok(!result.ok, `${name} was accepted`);
  return result.problem;
}

describe('parseDistinguishedName (notation-go pkix.ParseDistinguishedName)', () => {
  it('reads the RDNs of a subject, spaces around types and values trimmed', () => {
    assert.deepEqual(parsed(' C=US, ST=WA, L=Seattle, O=wabbit-networks.io, OU=Security Tools'), {
      C: 'US',
      ST: 'WA',
      L: 'Seattle',
      O: 'wabbit-networks.io',
      OU: 'Security Tools',
    });
    assert.deepEqual(parsed('  C  =  US  ;ST=WA;O=x'), { C: 'US', ST: 'WA', O: 'x' });
  });

  it('reads S as ST and requires C, ST and O, each non-empty', () => {
    assert.deepEqual(parsed('C=US,S=California,O=Notary Project'), {
      C: 'US',
      ST: 'California',
      O: 'Notary Project',
    });
    for (const [name, field] of [
      ['CN=e2e,O=Notary,L=Seattle,ST=WA', 'C'],
      ['CN=e2e,O=Notary,L=Seattle,C=US', 'ST'],
      ['CN=e2e,L=Seattle,ST=WA,C=US', 'O'],
      ['C=,ST=WA,O=x', 'C'],
      ['c=US,st=WA,o=x', 'C'], // types keep their case
      ['', 'C'],
      [' \t', 'C'],
    ] as const) {
      assert.match(problem(name), new RegExp(`no mandatory RDN attribute for "${field}"`), name);
    }
  });

  it('resolves RFC 4514 escapes as go-ldap does', () => {
    // go-ldap dn_test.go TestSuccessfulDNParsing, with C, ST and O added.
    assert.equal(
      parsed(`${MANDATORY},cn=Jim\\2C \\22Hasse Hö\\22 Hansson!`)['cn'],
      'Jim, "Hasse Hö" Hansson!',
    );
    assert.equal(parsed(`${MANDATORY},CN=Lu\\C4\\8Di\\C4\\87`)['CN'], 'Lučić');
    assert.equal(
      parsed(`${MANDATORY},CN=James \\"Jim\\" Smith\\, III`)['CN'],
      'James "Jim" Smith, III',
    );
    assert.equal(parsed(`${MANDATORY},CN=Before\\0dAfter`)['CN'], 'Before\rAfter');
    assert.equal(parsed(`${MANDATORY},CN=john.doe\\;weird name`)['CN'], 'john.doe;weird name');
    assert.equal(parsed(`${MANDATORY},CN=Foo===Long`)['CN'], 'Foo===Long');
    assert.equal(parsed(`${MANDATORY},CN=ZXhhbXBsZVRleHQ=`)['CN'], 'ZXhhbXBsZVRleHQ=');
    assert.equal(parsed(`${MANDATORY},CN=Ba # rq`)['CN'], 'Ba # rq');
    // Only U+0020 is trimmed; an escaped space survives.
    assert.equal(parsed(`${MANDATORY},A = 88  \t`)['A'], '88  \t');
    assert.deepEqual(
      parsed(`${MANDATORY},   \\ \\ A\\ \\    =   \\ \\ 1\\ \\    `)['  A  '],
      '  1  ',
    );
    assert.equal(parsed(`${MANDATORY},CN=x\\ `)['CN'], 'x ');
    // A type that decodes to nothing lets the next '=' name it.
    assert.equal(parsed(`${MANDATORY},=CN=x`)['CN'], 'x');
  });

  it('refuses what go-ldap cannot parse', () => {
    // go-ldap dn_test.go TestErrorDNParsing.
    for (const [name, text] of [
      ['*', 'DN ended with incomplete type, value pair'],
      [`${MANDATORY},cn=Jim\\0Test`, 'failed to decode escaped character'],
      [`${MANDATORY},cn=Jim\\0`, 'failed to decode escaped character'],
      [`${MANDATORY},cn=Jim\\`, 'corrupted escaped character'],
      ['DC=example,=net', 'DN ended with incomplete type, value pair'],
      ['test,DC=example,DC=com', 'incomplete type, value pair'],
      ['=test,DC=example,DC=com', 'incomplete type, value pair'],
      [`${MANDATORY};`, 'DN ended with incomplete type, value pair'],
      [`${MANDATORY},CN=\\é1`, 'failed to decode escaped character'],
    ] as const) {
      assert.ok(problem(name).includes(text), `${name}: ${problem(name)}`);
      assert.ok(problem(name).includes('follow RFC 4514 standard'), name);
    }
  });

  it('refuses "=#" values, multi-valued RDNs and repeated attributes', () => {
    assert.match(problem('C=US,ST=California,O=Notary Project=#'), /containing "=#"/);
    assert.match(problem(`${MANDATORY},CN=#04024869`), /containing "=#"/);
    assert.match(problem('OU=Sales+CN=J.  Smith,C=US,ST=WA,O=x'), /multi-valued RDN/);
    assert.match(
      problem('C=US,ST=California,O=Notary Project,S=California'),
      /duplicate RDN attribute for "ST"/,
    );
    assert.match(problem(`${MANDATORY},OU=a,OU=b`), /duplicate RDN attribute for "OU"/);
    // pkix.go keeps the first non-empty value, so an empty one may be repeated.
    assert.equal(parsed(`${MANDATORY},OU=,OU=b`)['OU'], 'b');
  });

  it('refuses escapes that make invalid UTF-8 rather than merge different bytes', () => {
    assert.match(problem(`${MANDATORY},CN=\\ff`), /not valid UTF-8/);
    assert.match(problem(`${MANDATORY},CN=\\c4`), /not valid UTF-8/);
  });

  it(
    'ends on long hostile names (quadratic parsing would run for minutes)',
    { timeout: 30_000 },
    () => {
      const long = `${MANDATORY},CN=${'\\'.repeat(100_001)}`;
      problem(long);
      problem('='.repeat(100_000));
      parseDistinguishedName(`${MANDATORY},CN=${'a\\,'.repeat(50_000)}`);
    },
  );
});

describe('isSubsetDN (notation-go pkix.IsSubsetDN)', () => {
  const dn = (name: string) => {
    const result = parseDistinguishedName(name);
    assert.ok(result.ok);
    return result.dn;
  };

  it('holds when every attribute of the first has its value in the second', () => {
    assert.ok(isSubsetDN(dn('C=US,ST=CA,O=Notary'), dn('C=US,ST=CA,O=Notary,L=LA')));
    assert.ok(isSubsetDN(dn('C=US,ST=CA,O=Notary'), dn('O=Notary,ST=CA,C=US')));
    assert.ok(!isSubsetDN(dn('C=US,ST=CA,O=Notary'), dn('C=US,ST=CA,O=Notary 2,L=LA,CN=x')));
    assert.ok(!isSubsetDN(dn('C=US,ST=CA,O=Notary,CN=Notary'), dn('C=US,ST=CA,O=Notary,L=LA')));
    // Values compare exactly: case matters.
    assert.ok(!isSubsetDN(dn('C=US,ST=CA,O=notary'), dn('C=US,ST=CA,O=Notary')));
    // A missing attribute reads as "", as a Go map does.
    assert.ok(isSubsetDN(dn('C=US,ST=CA,O=Notary,OU='), dn('C=US,ST=CA,O=Notary')));
  });
});
