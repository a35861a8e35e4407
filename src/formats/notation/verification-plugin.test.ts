import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NotationEnvelope } from './envelope.ts';
import type { PluginMetadata } from './plugin-protocol.ts';
import {
  parseVerifySignatureResponse,
  pluginVerifierCapabilities,
  verificationPluginOf,
  verifySignatureRequest,
} from './verification-plugin.ts';

const metadata = (version: string, capabilities = ['SIGNATURE_VERIFIER.TRUSTED_IDENTITY']) =>
  ({
    name: 'p',
    description: 'd',
    version,
    url: 'u',
    supportedContractVersions: ['1.0'],
    capabilities,
  }) satisfies PluginMetadata;

const envelopeWith = (attributes: NotationEnvelope['extendedAttributes']) =>
  ({
    signingScheme: 'notary.x509',
    signingTime: new Date('2026-01-02T03:04:05Z'),
    certificateChain: [new Uint8Array([1, 2])],
    extendedAttributes: attributes,
  }) as unknown as NotationEnvelope;

describe('plugin versions compare as golang.org/x/mod/semver on "v" + version', () => {
  const accepts = (version: string, minVersion: string) =>
    pluginVerifierCapabilities(metadata(version), { name: 'p', minVersion }).ok;
  it('orders versions, shorthands and pre-releases', () => {
    assert.ok(accepts('1.0.0', '1.0.0'));
    assert.ok(accepts('1.10.0', '1.9.0'));
    assert.ok(accepts('10.0.0', '9.99.99'));
    assert.ok(accepts('1.2', '1.2.0'), 'shorthand 1.2 is 1.2.0');
    assert.ok(accepts('2', '1.9.9'));
    assert.ok(accepts('1.0.0', '1.0.0-rc.1'), 'a release is after its pre-releases');
    assert.ok(accepts('1.0.0-rc.10', '1.0.0-rc.9'), 'numeric identifiers compare as numbers');
    assert.ok(accepts('1.0.0-rc.a', '1.0.0-rc.9'), 'alphanumeric after numeric');
    assert.ok(accepts('1.0.0+build.2', '1.0.0+build.9'), 'build metadata is ignored');
    assert.ok(!accepts('0.9.9', '1.0.0'));
    assert.ok(!accepts('1.0.0-rc.1', '1.0.0'));
    assert.ok(!accepts('1.0.0-rc', '1.0.0-rc.1'), 'fewer identifiers first');
  });
  it('refuses what is not SemVer', () => {
    for (const version of ['v1.0.0', '1.0.0.0', '01.0.0', '1.02', '1.0-rc', '', 'latest']) {
      const result = pluginVerifierCapabilities(metadata(version), { name: 'p' });
      assert.ok(!result.ok && /not a SemVer version/.test(result.problem), version);
    }
  });
  it('keeps only the verifier capabilities, and needs one', () => {
    const both = pluginVerifierCapabilities(
      metadata('1.0.0', [
        'SIGNATURE_GENERATOR.RAW',
        'SIGNATURE_VERIFIER.REVOCATION_CHECK',
        'SIGNATURE_VERIFIER.TRUSTED_IDENTITY',
      ]),
      { name: 'p' },
    );
    assert.deepEqual(both.ok && both.capabilities, [
      'SIGNATURE_VERIFIER.TRUSTED_IDENTITY',
      'SIGNATURE_VERIFIER.REVOCATION_CHECK',
    ]);
    assert.ok(
      !pluginVerifierCapabilities(metadata('1.0.0', ['SIGNATURE_GENERATOR.RAW']), { name: 'p' }).ok,
    );
  });
});

describe('the attributes naming a plugin', () => {
  const plugin = { key: 'io.cncf.notary.verificationPlugin', critical: true };
  const min = { key: 'io.cncf.notary.verificationPluginMinVersion', critical: true };
  it('reads the name and minimum version, refusing malformed ones', () => {
    assert.deepEqual(verificationPluginOf(envelopeWith([])), { ok: true });
    assert.deepEqual(
      verificationPluginOf(
        envelopeWith([
          { ...plugin, value: 'p' },
          { ...min, value: '1.2' },
        ]),
      ),
      { ok: true, plugin: { name: 'p', minVersion: '1.2' } },
    );
    for (const attributes of [
      [{ ...plugin, value: '' }],
      [{ ...plugin, value: 7 }],
      [{ ...min, value: '1.0.0' }],
      [
        { ...plugin, value: 'p' },
        { ...min, value: 'one' },
      ],
    ]) {
      assert.equal(verificationPluginOf(envelopeWith(attributes)).ok, false);
    }
  });
  it('gives the plugin only JSON primitive attribute values', () => {
    const request = (value: unknown) =>
      verifySignatureRequest({
        envelope: envelopeWith([
          { ...plugin, value: 'p' },
          { key: 'x', critical: true, value },
          { key: 'y', critical: false, value: 'not critical' },
        ]),
        plugin: { name: 'p' },
        trustedIdentities: ['*'],
        checks: ['SIGNATURE_VERIFIER.TRUSTED_IDENTITY'],
        pluginConfig: {},
      });
    const ok = request(3);
    assert.ok(ok.ok);
    const signature = (ok.request as { signature: Record<string, unknown> }).signature;
    assert.deepEqual(signature.unprocessedAttributes, ['x']);
    assert.deepEqual(signature.certificateChain, ['AQI=']);
    assert.deepEqual((signature.criticalAttributes as Record<string, unknown>).extendedAttributes, {
      x: 3,
    });
    assert.equal(request(new Map()).ok, false);
    assert.equal(request(new Uint8Array(1)).ok, false);
  });
});

describe('verify-signature answers are read strictly', () => {
  const asked = ['SIGNATURE_VERIFIER.TRUSTED_IDENTITY'] as const;
  const parse = (answer: unknown) =>
    parseVerifySignatureResponse(new TextEncoder().encode(JSON.stringify(answer)), 'p', asked, [
      'x',
    ]);
  it('takes a result per check asked and every attribute processed', () => {
    const ok = parse({
      verificationResults: {
        'SIGNATURE_VERIFIER.TRUSTED_IDENTITY': { success: false, reason: 'no' },
      },
      processedAttributes: ['x'],
    });
    assert.deepEqual(
      [...ok.results],
      [['SIGNATURE_VERIFIER.TRUSTED_IDENTITY', { success: false, reason: 'no' }]],
    );
  });
  const refusals: [string, unknown, RegExp][] = [
    ['no result', { verificationResults: {}, processedAttributes: ['x'] }, /no result for/],
    [
      'a result not asked for',
      {
        verificationResults: {
          'SIGNATURE_VERIFIER.TRUSTED_IDENTITY': { success: true },
          'SIGNATURE_VERIFIER.REVOCATION_CHECK': { success: true },
        },
        processedAttributes: ['x'],
      },
      /not asked to check/,
    ],
    [
      'a failure without a reason',
      {
        verificationResults: { 'SIGNATURE_VERIFIER.TRUSTED_IDENTITY': { success: false } },
        processedAttributes: ['x'],
      },
      /without a reason/,
    ],
    [
      'success that is not a boolean',
      {
        verificationResults: { 'SIGNATURE_VERIFIER.TRUSTED_IDENTITY': { success: 'true' } },
        processedAttributes: ['x'],
      },
      /not a boolean/,
    ],
    [
      'an attribute not given',
      {
        verificationResults: { 'SIGNATURE_VERIFIER.TRUSTED_IDENTITY': { success: true } },
        processedAttributes: ['x', 'z'],
      },
      /"z", which it was not given/,
    ],
    [
      'an attribute left unprocessed',
      {
        verificationResults: { 'SIGNATURE_VERIFIER.TRUSTED_IDENTITY': { success: true } },
        processedAttributes: [],
      },
      /lacking the critical attribute "x"/,
    ],
  ];
  for (const [what, answer, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => parse(answer),
        (error: Error & { code?: string }) =>
          error.code === 'NOTATION_PLUGIN_RESPONSE_INVALID' && message.test(error.message),
      );
    });
  }
});
