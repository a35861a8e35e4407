import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { selectRule } from '../match.ts';
import { importNotationFiles } from './notation-files.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../../shared/fixtures/notation');
const skip = existsSync(FIXTURES) ? false : `notation fixtures not found at ${FIXTURES}`;

describe('vouch policy import --notation-trust-policy', { skip }, () => {
  let tmp: string;
  let stores: string;
  let n = 0;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-import-notation-'));
    stores = join(tmp, 'truststore');
    for (const [type, name, file] of [
      ['ca', 'e2e', 'localkeys/e2e.crt'],
      ['ca', 'other', 'localkeys/new_e2e.crt'],
      ['tsa', 'tsa', 'timestamp/globalsignTSARoot.cer'],
    ] as const) {
      await mkdir(join(stores, 'x509', type, name), { recursive: true });
      await writeFile(
        join(stores, 'x509', type, name, file.split('/')[1] as string),
        await readFile(join(FIXTURES, 'config', file)),
      );
    }
  });

  after(async () => {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  async function importPolicy(statements: unknown[], policyDir?: string) {
    const path = join(tmp, `trustpolicy-${n++}.json`);
    await writeFile(path, JSON.stringify({ version: '1.0', trustPolicies: statements }));
    return importNotationFiles(path, {
      trustStoreDir: stores,
      ...(policyDir === undefined ? {} : { policyDir }),
    });
  }

  async function refusal(statements: unknown[]): Promise<string> {
    try {
      await importPolicy(statements);
    } catch (error) {
      assert.ok(isVouchError(error), String(error));
      assert.equal(error.code, 'POLICY_IMPORT_REFUSED', error.message);
      return error.message;
    }
    assert.fail('the trust policy was imported');
  }

  const statement = (fields: Record<string, unknown>) => ({
    name: 'app',
    registryScopes: ['ghcr.io/acme/app'],
    signatureVerification: { level: 'strict' },
    trustStores: ['ca:e2e'],
    trustedIdentities: ['x509.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=e2e'],
    ...fields,
  });

  it('maps scoped statements to rules before the global one, each with its own authority', async () => {
    const result = await importPolicy(
      [
        statement({
          name: 'Global Policy',
          registryScopes: ['*'],
          trustStores: ['ca:other'],
          trustedIdentities: ['*'],
        }),
        statement({
          registryScopes: ['ghcr.io/acme/app', 'docker.io/nginx'],
          trustStores: ['ca:e2e', 'tsa:tsa'],
        }),
      ],
      tmp,
    );
    const { document, compiled } = result;
    assert.deepEqual(
      document.rules.map((rule) => [rule.name, rule.images, rule.authorities]),
      [
        ['app', ['ghcr.io/acme/app', 'docker.io/library/nginx'], ['app']],
        ['global-policy', ['**'], ['global-policy']],
      ],
    );
    assert.equal(document.defaultAction, 'deny');
    assert.deepEqual(document.authorities?.['app'], {
      notation: {
        trustStore: {
          ca: ['truststore/x509/ca/e2e/e2e.crt'],
          tsa: ['truststore/x509/tsa/tsa/globalsignTSARoot.cer'],
        },
        trustedIdentities: ['x509.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=e2e'],
      },
    });
    assert.deepEqual(document.authorities?.['global-policy'], {
      notation: {
        trustStore: { ca: ['truststore/x509/ca/other/new_e2e.crt'] },
        trustedIdentities: ['*'],
      },
    });
    // The compiled policy decides as notation picks statements.
    assert.equal(selectRule(compiled, 'nginx:1.27')?.name, 'app');
    assert.equal(selectRule(compiled, 'ghcr.io/acme/app:1')?.name, 'app');
    assert.equal(selectRule(compiled, 'ghcr.io/acme/other:1')?.name, 'global-policy');
    assert.match(result.text, /^# Imported by vouch policy import/);
    assert.deepEqual(result.notes, ['statement "Global Policy" is rule global-policy']);
  });

  it('names certificate files by absolute path when no policy directory is given', async () => {
    const { document } = await importPolicy([statement({})]);
    const notation = document.authorities?.['app'];
    assert.ok(notation !== undefined && 'notation' in notation);
    assert.deepEqual(notation.notation.trustStore.ca, [join(stores, 'x509/ca/e2e/e2e.crt')]);
  });

  it('without a global statement, an image no scope names is denied', async () => {
    const { compiled } = await importPolicy([statement({})]);
    assert.equal(selectRule(compiled, 'ghcr.io/acme/other:1'), undefined);
    assert.equal(compiled.defaultAction, 'deny');
  });

  it('copies level, verifyTimestamp and a revocation override to skip', async () => {
    const { document } = await importPolicy([
      statement({
        signatureVerification: {
          level: 'permissive',
          verifyTimestamp: 'afterCertExpiry',
          override: { revocation: 'skip' },
        },
      }),
      statement({
        name: 'audit',
        registryScopes: ['ghcr.io/acme/audit'],
        signatureVerification: { level: 'audit' },
      }),
    ]);
    const app = document.authorities?.['app'];
    assert.ok(app !== undefined && 'notation' in app);
    assert.equal(app.notation.level, 'permissive');
    assert.equal(app.notation.verifyTimestamp, 'afterCertExpiry');
    assert.equal(app.notation.revocation, false);
    const audit = document.authorities?.['audit'];
    assert.ok(audit !== undefined && 'notation' in audit);
    assert.equal(audit.notation.level, 'audit');
    assert.equal(audit.notation.revocation, undefined);
  });

  it('an override that restates the level is the level', async () => {
    const { document } = await importPolicy([
      statement({
        signatureVerification: { level: 'strict', override: { revocation: 'enforce' } },
      }),
    ]);
    const app = document.authorities?.['app'];
    assert.ok(app !== undefined && 'notation' in app);
    assert.equal(app.notation.level, undefined);
    assert.equal(app.notation.revocation, undefined);
  });

  it('maps level skip to an allow rule (skip admits without verifying)', async () => {
    const { document, compiled } = await importPolicy([
      statement({}),
      {
        name: 'skip',
        registryScopes: ['docker.io/library/busybox'],
        signatureVerification: { level: 'skip' },
      },
    ]);
    assert.deepEqual(document.rules[1], {
      name: 'skip',
      images: ['docker.io/library/busybox'],
      action: 'allow',
    });
    assert.equal(selectRule(compiled, 'busybox')?.action, 'allow');
  });

  it('refuses an override a notation authority cannot run, naming the statement', async () => {
    const message = await refusal([
      statement({ signatureVerification: { level: 'strict', override: { authenticity: 'log' } } }),
    ]);
    assert.match(message, /trustPolicies\[0\]\.signatureVerification\.override/);
    assert.match(message, /no exact ImagePolicy equivalent/);
    assert.match(message, /authenticity: log/);
    assert.match(
      await refusal([
        statement({ signatureVerification: { level: 'strict', override: { revocation: 'log' } } }),
      ]),
      /revocation: log/,
    );
  });

  it('reads trust stores as notation does: a missing store fails the import', async () => {
    await assert.rejects(importPolicy([statement({ trustStores: ['ca:missing'] })]), (error) => {
      assert.ok(isVouchError(error));
      assert.equal(error.code, 'NOTATION_TRUST_STORE_NOT_FOUND');
      return true;
    });
  });

  it('refuses a trust policy notation refuses', async () => {
    await assert.rejects(
      importPolicy([statement({ trustedIdentities: ['*', 'x509.subject: CN=a'] })]),
      (error) => {
        assert.ok(isVouchError(error));
        assert.equal(error.code, 'NOTATION_TRUST_POLICY_INVALID');
        return true;
      },
    );
  });
});
