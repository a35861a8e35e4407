/**
 * Verification plugins, pure: which plugin a signature names, whether the
 * installed one may verify it, the `verify-signature` request and a strict
 * read of its answer. notaryproject/specifications
 * `specs/plugin-extensibility.md` "Signature Verifier"; notation-go v1.3
 * `verifier/verifier.go` (`processSignature`, `executePlugin`,
 * `processPluginResponse`) and `verifier/helpers.go`
 * (`getVerificationPlugin`, `getVerificationPluginMinVersion`,
 * `isRequiredVerificationPluginVer`); the JSON of
 * notation-plugin-framework-go v1.0.0 `plugin/proto.go`.
 *
 * - The plugin is named by the signed attribute
 *   `io.cncf.notary.verificationPlugin` (a non-empty string), its least
 *   version by `io.cncf.notary.verificationPluginMinVersion` (SemVer).
 * - Versions are compared as notation-go does: golang.org/x/mod/semver on
 *   `v` + the version, so `1`, `1.2` and `1.2.3-rc.1+b` are versions and
 *   `1.02` is not.
 * - The critical extended attributes other than those two are what notation
 *   does not process (`unprocessedAttributes`): the plugin gets them with
 *   their values (JSON primitives only, as the spec says) and must list
 *   every one in `processedAttributes`. notation-go sends every extended
 *   attribute, critical or not; vouch sends what the spec says, the
 *   critical ones, and refuses what notation-go only lets through: an answer
 *   that processed an attribute it was not given, or lacks a result for a
 *   check it was asked for, or has one it was not asked for.
 */
import { encodeStdBase64 } from '../../core/base64.ts';
import type { JsonValue } from '../../core/strict-json.ts';
import { checkFields, object, quote, string } from '../json-fields.ts';
import { NOTATION_PAYLOAD_MEDIA_TYPE, type NotationEnvelope } from './envelope.ts';
import {
  config,
  document,
  PLUGIN_CONTRACT_VERSION,
  type PluginConfig,
  type PluginMetadata,
  responseFailure,
  strings,
} from './plugin-protocol.ts';

export const HEADER_VERIFICATION_PLUGIN = 'io.cncf.notary.verificationPlugin';
export const HEADER_VERIFICATION_PLUGIN_MIN_VERSION = 'io.cncf.notary.verificationPluginMinVersion';
const PLUGIN_HEADERS: readonly string[] = [
  HEADER_VERIFICATION_PLUGIN,
  HEADER_VERIFICATION_PLUGIN_MIN_VERSION,
];

export const CAPABILITY_TRUSTED_IDENTITY_VERIFIER = 'SIGNATURE_VERIFIER.TRUSTED_IDENTITY';
export const CAPABILITY_REVOCATION_CHECK_VERIFIER = 'SIGNATURE_VERIFIER.REVOCATION_CHECK';
export type VerifierCapability =
  typeof CAPABILITY_TRUSTED_IDENTITY_VERIFIER | typeof CAPABILITY_REVOCATION_CHECK_VERIFIER;
const VERIFIER_CAPABILITIES: readonly VerifierCapability[] = [
  CAPABILITY_TRUSTED_IDENTITY_VERIFIER,
  CAPABILITY_REVOCATION_CHECK_VERIFIER,
];

export interface VerificationPluginRequirement {
  readonly name: string;
  readonly minVersion?: string;
}

/**
 * The plugin a signature names: undefined when it names none, a problem
 * when the attributes are malformed (helpers.go `getVerificationPlugin`,
 * `getVerificationPluginMinVersion`).
 */
export function verificationPluginOf(
  envelope: NotationEnvelope,
): { ok: true; plugin?: VerificationPluginRequirement } | { ok: false; problem: string } {
  const value = (key: string) =>
    envelope.extendedAttributes.find((attribute) => attribute.key === key)?.value;
  const name = value(HEADER_VERIFICATION_PLUGIN);
  const minVersion = value(HEADER_VERIFICATION_PLUGIN_MIN_VERSION);
  if (name === undefined) {
    if (minVersion !== undefined) {
      return {
        ok: false,
        problem: `the signature has ${HEADER_VERIFICATION_PLUGIN_MIN_VERSION} without ${HEADER_VERIFICATION_PLUGIN}`,
      };
    }
    return { ok: true };
  }
  if (typeof name !== 'string' || name === '') {
    return { ok: false, problem: `${HEADER_VERIFICATION_PLUGIN} is not a non-empty string` };
  }
  if (minVersion === undefined) return { ok: true, plugin: { name } };
  if (typeof minVersion !== 'string' || minVersion === '') {
    return {
      ok: false,
      problem: `${HEADER_VERIFICATION_PLUGIN_MIN_VERSION} is not a non-empty string`,
    };
  }
  if (parseVersion(minVersion) === undefined) {
    return {
      ok: false,
      problem: `${HEADER_VERIFICATION_PLUGIN_MIN_VERSION} ${quote(minVersion)} is not a SemVer version`,
    };
  }
  return { ok: true, plugin: { name, minVersion } };
}

/** The critical extended attributes a plugin must process: all but the plugin's own two. */
export function unprocessedAttributes(envelope: NotationEnvelope): string[] {
  return envelope.extendedAttributes
    .filter((attribute) => attribute.critical && !PLUGIN_HEADERS.includes(attribute.key))
    .map((attribute) => attribute.key);
}

interface Version {
  readonly core: readonly [string, string, string];
  readonly prerelease: readonly string[];
}

const NUMBER = '(0|[1-9][0-9]*)';
const IDENTIFIER = '(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)';
const BUILD_IDENTIFIER = '[0-9A-Za-z-]+';
/** x/mod/semver's grammar after the `v`: shorthands `1` and `1.2` take no pre-release or build. */
const VERSION = new RegExp(
  `^${NUMBER}(?:\\.${NUMBER}(?:\\.${NUMBER}(?:-(${IDENTIFIER}(?:\\.${IDENTIFIER})*))?(?:\\+${BUILD_IDENTIFIER}(?:\\.${BUILD_IDENTIFIER})*)?)?)?$`,
);

function parseVersion(text: string): Version | undefined {
  const match = VERSION.exec(text);
  if (match === null) return undefined;
  return {
    core: [match[1] as string, match[2] ?? '0', match[3] ?? '0'],
    prerelease: match[4] === undefined ? [] : match[4].split('.'),
  };
}

/** Digits of any length, compared as numbers. */
function compareNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SemVer 2.0.0 §11 precedence (x/mod/semver `Compare`); build metadata is ignored. */
function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const order = compareNumbers(a.core[i] as string, b.core[i] as string);
    if (order !== 0) return order;
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length === 0 ? 1 : -1;
  }
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i] as string;
    const y = b.prerelease[i] as string;
    const xNumeric = /^[0-9]+$/.test(x);
    const yNumeric = /^[0-9]+$/.test(y);
    const order =
      xNumeric && yNumeric
        ? compareNumbers(x, y)
        : xNumeric !== yNumeric
          ? xNumeric
            ? -1
            : 1
          : x < y
            ? -1
            : x > y
              ? 1
              : 0;
    if (order !== 0) return order;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

/**
 * Why the installed plugin may not verify the signature, or the verifier
 * capabilities it has (verifier.go `processSignature`): its version must be
 * SemVer and at least the signature's minimum, and it must declare
 * `SIGNATURE_VERIFIER.TRUSTED_IDENTITY` or `SIGNATURE_VERIFIER.REVOCATION_CHECK`.
 */
export function pluginVerifierCapabilities(
  metadata: PluginMetadata,
  required: VerificationPluginRequirement,
): { ok: true; capabilities: VerifierCapability[] } | { ok: false; problem: string } {
  const name = quote(required.name);
  const version = parseVersion(metadata.version);
  if (version === undefined) {
    return {
      ok: false,
      problem: `plugin ${name} has the version ${quote(metadata.version)}, which is not a SemVer version`,
    };
  }
  if (required.minVersion !== undefined) {
    const least = parseVersion(required.minVersion) as Version;
    if (compareVersions(version, least) < 0) {
      return {
        ok: false,
        problem: `plugin ${name} is version ${metadata.version}, and the signature needs version ${required.minVersion} or later`,
      };
    }
  }
  const capabilities = VERIFIER_CAPABILITIES.filter((c) => metadata.capabilities.includes(c));
  if (capabilities.length === 0) {
    return {
      ok: false,
      problem: `the signature needs plugin ${name} with a signature verification capability (${VERIFIER_CAPABILITIES.join(' or ')}), and it declares only ${metadata.capabilities.join(', ')}`,
    };
  }
  return { ok: true, capabilities };
}

/** RFC 3339 as Go's time.Time marshals a UTC time (fractional seconds only when there are some). */
function rfc3339(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

export interface VerifySignatureInput {
  readonly envelope: NotationEnvelope;
  readonly plugin: VerificationPluginRequirement;
  /** The trust policy statement's trusted identities, as written. */
  readonly trustedIdentities: readonly string[];
  /** The checks the plugin is to make. */
  readonly checks: readonly VerifierCapability[];
  readonly pluginConfig: PluginConfig;
}

/**
 * The `verify-signature` request (plugin-extensibility.md "verify-signature
 * command"; verifier.go `executePlugin`), or the problem with an
 * unprocessed attribute whose value is no JSON primitive.
 */
export function verifySignatureRequest(
  input: VerifySignatureInput,
): { ok: true; request: JsonValue } | { ok: false; problem: string } {
  const { envelope, plugin } = input;
  const unprocessed = unprocessedAttributes(envelope);
  const extendedAttributes: Record<string, JsonValue> = {};
  for (const key of unprocessed) {
    const value = envelope.extendedAttributes.find((attribute) => attribute.key === key)?.value;
    if (
      value !== null &&
      typeof value !== 'string' &&
      typeof value !== 'boolean' &&
      !(typeof value === 'number' && Number.isFinite(value))
    ) {
      return {
        ok: false,
        problem: `the critical attribute ${quote(key)} is not a JSON primitive (string, number, boolean or null), which is all a verification plugin is given`,
      };
    }
    extendedAttributes[key] = value;
  }
  const criticalAttributes: Record<string, JsonValue> = {
    contentType: NOTATION_PAYLOAD_MEDIA_TYPE,
    signingScheme: envelope.signingScheme,
    ...(envelope.expiry === undefined ? {} : { expiry: rfc3339(envelope.expiry) }),
    ...(envelope.signingScheme === 'notary.x509.signingAuthority'
      ? { authenticSigningTime: rfc3339(envelope.signingTime) }
      : {}),
    verificationPlugin: plugin.name,
    ...(plugin.minVersion === undefined ? {} : { verificationPluginMinVersion: plugin.minVersion }),
    ...(unprocessed.length === 0 ? {} : { extendedAttributes }),
  };
  return {
    ok: true,
    request: {
      contractVersion: PLUGIN_CONTRACT_VERSION,
      signature: {
        criticalAttributes,
        unprocessedAttributes: unprocessed,
        certificateChain: envelope.certificateChain.map(encodeStdBase64),
      },
      trustPolicy: {
        trustedIdentities: [...input.trustedIdentities],
        signatureVerification: [...input.checks],
      },
      ...config(input.pluginConfig),
    },
  };
}

export interface PluginCheckResult {
  readonly success: boolean;
  /** Present when `success` is false. */
  readonly reason?: string;
}

export interface VerifySignatureResponse {
  readonly results: ReadonlyMap<VerifierCapability, PluginCheckResult>;
  readonly processedAttributes: readonly string[];
}

/**
 * The `verify-signature` answer, strictly (module comment): a result for
 * exactly the checks asked for, a reason for each that failed, and every
 * unprocessed attribute processed.
 */
export function parseVerifySignatureResponse(
  bytes: Uint8Array,
  plugin: string,
  checks: readonly VerifierCapability[],
  unprocessed: readonly string[],
): VerifySignatureResponse {
  const fail = responseFailure(plugin, 'verify-signature');
  const answer = document(bytes, fail);
  checkFields(
    answer,
    { required: ['verificationResults', 'processedAttributes'], unknown: 'ignore' },
    'the answer',
    fail,
  );
  const given = object(answer.verificationResults, 'verificationResults', fail);
  const results = new Map<VerifierCapability, PluginCheckResult>();
  for (const [key, value] of Object.entries(given)) {
    const check = checks.find((c) => c === key);
    if (check === undefined) {
      throw fail(
        `a result for ${quote(key)}, which it was not asked to check (asked: ${checks.join(', ')})`,
      );
    }
    const path = `verificationResults[${quote(key)}]`;
    const result = object(value, path, fail);
    checkFields(
      result,
      { required: ['success'], optional: ['reason'], unknown: 'ignore' },
      path,
      fail,
    );
    if (typeof result.success !== 'boolean') throw fail(`${path}.success that is not a boolean`);
    const reason =
      result.reason === undefined || result.reason === null
        ? ''
        : string(result.reason, `${path}.reason`, fail);
    if (!result.success && reason === '') throw fail(`${path} failed without a reason`);
    results.set(check, { success: result.success, ...(reason === '' ? {} : { reason }) });
  }
  const missing = checks.filter((check) => !results.has(check));
  if (missing.length > 0)
    throw fail(`no result for ${missing.join(', ')}, which it was asked to check`);
  const processed = strings(answer.processedAttributes, 'processedAttributes', fail);
  const stray = processed.find((key) => !unprocessed.includes(key));
  if (stray !== undefined) {
    throw fail(`processedAttributes naming ${quote(stray)}, which it was not given to process`);
  }
  const unhandled = unprocessed.filter((key) => !processed.includes(key));
  if (unhandled.length > 0) {
    throw fail(
      `processedAttributes lacking the critical attribute${unhandled.length === 1 ? '' : 's'} ${unhandled.map(quote).join(', ')}: every critical attribute notation does not know must be processed by the plugin`,
    );
  }
  return { results, processedAttributes: processed };
}
