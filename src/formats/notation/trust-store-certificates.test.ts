import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import {
  MAX_CERTIFICATES_PER_FILE,
  parseTrustStoreCertificates,
} from './trust-store-certificates.ts';
import { TRUST_STORE_TYPES, type TrustStoreType } from './trust-policy.ts';

// Made by test/fixtures/notation-trust-store/generate.sh.
const OURS = resolve(import.meta.dirname, '../../../test/fixtures/notation-trust-store');
const NOTATION = resolve(import.meta.dirname, '../../../../shared/fixtures/notation/config');
const skip = existsSync(NOTATION)
  ? false
  : `notation fixtures not found at ${NOTATION} (they live outside the repository)`;

const ours = (name: string) => new Uint8Array(readFileSync(resolve(OURS, name)));
const der = (name: string) => new Uint8Array(new X509Certificate(ours(name)).raw);
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const text = (value: string) => new TextEncoder().encode(value);
const refused = (message?: string) =>
  expectError('invalid', 'NOTATION_TRUST_STORE_INVALID', message);
const NOT_CA = 'is not a CA certificate or self-signed signing certificate';
const CANNOT_SIGN = 'parent certificate cannot sign this kind of certificate';

function accepted(type: TrustStoreType, bytes: Uint8Array): string[] {
  return parseTrustStoreCertificates(type, bytes, 'file').map(({ der, certificate }) => {
    assert.deepEqual(der, new Uint8Array(certificate.raw));
    return certificate.subject.split('\n').at(-1) ?? '';
  });
}

/** What each store type makes of a file: true (read) or a fragment of the refusal. */
function table(bytes: Uint8Array, expected: Record<TrustStoreType, true | string>): void {
  for (const type of TRUST_STORE_TYPES) {
    const outcome = expected[type];
    if (outcome === true) assert.equal(accepted(type, bytes).length, 1, type);
    else
      assert.throws(() => parseTrustStoreCertificates(type, bytes, 'file'), refused(outcome), type);
  }
}

describe('parseTrustStoreCertificates: which certificates a store may hold', () => {
  it('takes a root CA in every store', () => {
    table(ours('root-ca.pem'), { ca: true, signingAuthority: true, tsa: true });
    table(ours('root-ca.cer'), { ca: true, signingAuthority: true, tsa: true });
  });

  it('takes a self-signed signing certificate in ca and signingAuthority stores only', () => {
    // truststore.go ValidateCertificates: CA, or signed by its own key.
    table(ours('self-signed-leaf.pem'), { ca: true, signingAuthority: true, tsa: CANNOT_SIGN });
    table(ours('ed25519-self-signed.pem'), { ca: true, signingAuthority: true, tsa: CANNOT_SIGN });
  });

  it('refuses an end-entity certificate someone else issued', () => {
    table(ours('issued-leaf.pem'), { ca: NOT_CA, signingAuthority: NOT_CA, tsa: NOT_CA });
  });

  it('takes an intermediate CA, but not in a tsa store, which wants roots', () => {
    table(ours('intermediate-ca.pem'), {
      ca: true,
      signingAuthority: true,
      tsa: 'is not a root CA certificate: its signature does not verify',
    });
  });

  it('checks a tsa root as Go checks a parent: keyCertSign, no SHA-1', () => {
    table(ours('no-certsign-ca.pem'), { ca: true, signingAuthority: true, tsa: CANNOT_SIGN });
    // A CA's own signature is not checked in ca stores (ValidateCertificates), so SHA-1 passes there.
    table(ours('sha1-root-ca.pem'), {
      ca: true,
      signingAuthority: true,
      tsa: 'its signature does not verify',
    });
    // A version 1 certificate has no basicConstraints to require.
    table(ours('v1-self-signed.pem'), { ca: true, signingAuthority: true, tsa: true });
  });

  it('refuses a self-signed signing certificate signed with MD5', () => {
    table(ours('md5-self-signed.pem'), { ca: NOT_CA, signingAuthority: NOT_CA, tsa: NOT_CA });
  });

  it('refuses a whole file for one certificate it may not hold', () => {
    const bundle = concat(ours('root-ca.pem'), ours('issued-leaf.pem'));
    assert.throws(
      () => parseTrustStoreCertificates('ca', bundle, 'bundle.pem'),
      refused(`bundle.pem: certificate with subject`),
    );
    assert.throws(
      () => parseTrustStoreCertificates('ca', bundle, 'bundle.pem'),
      refused('Test Leaf'),
    );
  });
});

describe('parseTrustStoreCertificates: reading the file', () => {
  it('reads every PEM block, with text around and between them, whatever its label', () => {
    const bundle = text(
      `Bag Attributes: x\n${readFileSync(resolve(OURS, 'root-ca.pem'), 'utf8')}between\n` +
        readFileSync(resolve(OURS, 'intermediate-ca.pem'), 'utf8').replaceAll(
          'CERTIFICATE',
          'X509 CERTIFICATE',
        ) +
        'trailing text',
    );
    assert.deepEqual(accepted('ca', bundle), ['CN=Test Root', 'CN=Test Intermediate']);
  });

  it('reads DER certificates back to back', () => {
    assert.deepEqual(accepted('ca', concat(der('root-ca.pem'), der('intermediate-ca.pem'))), [
      'CN=Test Root',
      'CN=Test Intermediate',
    ]);
  });

  it('refuses a file without a certificate', () => {
    assert.throws(
      () => parseTrustStoreCertificates('ca', new Uint8Array(), 'empty.pem'),
      refused('empty.pem: holds no certificate'),
    );
    assert.throws(
      () => parseTrustStoreCertificates('ca', text(' \n'), 'f'),
      refused('is neither PEM nor DER'),
    );
    assert.throws(
      () => parseTrustStoreCertificates('ca', text('hello'), 'f'),
      refused('is neither PEM nor DER'),
    );
    assert.throws(
      () =>
        parseTrustStoreCertificates(
          'ca',
          text('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'),
          'f',
        ),
      refused('does not hold valid base64'),
    );
    assert.throws(
      () => parseTrustStoreCertificates('ca', text('-----BEGIN CERTIFICATE-----\nMIIB\n'), 'f'),
      refused('has no "-----END CERTIFICATE-----" line'),
    );
  });

  it('refuses a PEM block that holds something else', () => {
    const key = text(
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHBoFtnpYBFeO+6ZyEqDs1MNwZkG6FkqkwnlDW79CWHR\n-----END PRIVATE KEY-----\n',
    );
    assert.throws(
      () => parseTrustStoreCertificates('ca', concat(ours('root-ca.pem'), key), 'f'),
      refused('certificate 2 is not a valid X.509 certificate'),
    );
  });

  it('refuses DER that is not exactly certificates', () => {
    const root = der('root-ca.pem');
    const refusesDer = (bytes: Uint8Array, message: string) =>
      assert.throws(() => parseTrustStoreCertificates('ca', bytes, 'f'), refused(message));
    refusesDer(root.subarray(0, root.length - 1), 'is neither PEM nor DER');
    refusesDer(concat(root, text('x')), 'no DER certificate at byte');
    refusesDer(concat(root, new Uint8Array([0x30, 0x00])), 'is not a valid X.509 certificate');
    // Indefinite and non-minimal lengths are BER, not DER.
    refusesDer(
      concat(new Uint8Array([0x30, 0x80]), root.subarray(4), new Uint8Array([0, 0])),
      'is neither PEM nor DER',
    );
    refusesDer(
      concat(new Uint8Array([0x30, 0x83, 0x00]), root.subarray(2)),
      'is neither PEM nor DER',
    );
    // A certificate with bytes after it inside its PEM block.
    const padded = text(
      `-----BEGIN CERTIFICATE-----\n${Buffer.concat([root, Buffer.from([0])]).toString('base64')}\n-----END CERTIFICATE-----\n`,
    );
    refusesDer(padded, 'is not a valid X.509 certificate');
  });

  it('refuses a self-signed certificate whose signature does not verify', () => {
    const leaf = der('self-signed-leaf.pem');
    const broken = leaf.slice();
    broken[broken.length - 3] = (broken[broken.length - 3] ?? 0) ^ 0x01;
    assert.throws(() => parseTrustStoreCertificates('ca', broken, 'f'), refused(NOT_CA));
  });

  it('caps the certificates of one file', () => {
    const root = der('root-ca.pem');
    const many = concat(...Array.from({ length: MAX_CERTIFICATES_PER_FILE + 1 }, () => root));
    assert.throws(
      () => parseTrustStoreCertificates('ca', many, 'f'),
      refused(`holds more than ${MAX_CERTIFICATES_PER_FILE} certificates`),
    );
  });
});

describe(
  'parseTrustStoreCertificates: notation e2e certificates (shared/fixtures/notation)',
  { skip },
  () => {
    const notation = (name: string) => new Uint8Array(readFileSync(resolve(NOTATION, name)));

    it('takes the self-signed signing certificates notation signs with in a ca store', () => {
      for (const name of [
        'localkeys/e2e.crt',
        'localkeys/new_e2e.crt',
        'localkeys/expired_e2e.crt',
      ]) {
        table(notation(name), { ca: true, signingAuthority: true, tsa: CANNOT_SIGN });
      }
    });

    it('behaves as notation with the --timestamp-root-cert files of its suite', () => {
      // notation test/e2e/suite/command/sign.go: each of these fails as a TSA root.
      table(notation('timestamp/DigiCertTSARootSHA384.cer'), {
        ca: true,
        signingAuthority: true,
        tsa: true,
      });
      table(notation('timestamp/globalsignTSARoot.cer'), {
        ca: true,
        signingAuthority: true,
        tsa: true,
      });
      table(notation('timestamp/notSelfIssued.crt'), {
        ca: true,
        signingAuthority: true,
        tsa: 'issuer (C=US, ST=, L=, O=Notary, CN=test) and subject (C=US, ST=WA, L=Seattle, O=Notary, CN=test) are not the same',
      });
      table(notation('timestamp/intermediate.pem'), {
        ca: true,
        signingAuthority: true,
        tsa: 'is not a root CA certificate',
      });
      table(notation('timestamp/CertChain.pem'), {
        ca: NOT_CA,
        signingAuthority: NOT_CA,
        tsa: NOT_CA,
      });
      table(notation('timestamp/Empty.txt'), {
        ca: 'holds no certificate',
        signingAuthority: 'holds no certificate',
        tsa: 'holds no certificate',
      });
      table(notation('timestamp/invalid.crt'), {
        ca: 'base64',
        signingAuthority: 'base64',
        tsa: 'base64',
      });
    });
  },
);
