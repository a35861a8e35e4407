/**
 * What a trusted root trusts, for people to read: each transparency log,
 * certificate authority, CT log and timestamp authority with its validity
 * period, as the document states them (protobuf-specs
 * `sigstore_trustroot.proto`: `TransparencyLogInstance`,
 * `CertificateAuthority`). Only the transparency logs are interpreted by
 * `trusted-root.ts`; the rest is read here leniently (a missing field is
 * null), since a summary must not fail on what verification does not use.
 */
import { decodeStdBase64 } from '../core/base64.ts';
import { isJsonObject, type JsonValue } from '../core/strict-json.ts';
import type { TrustedRoot } from './trusted-root.ts';

export interface TrustedLogSummary {
  readonly baseUrl: string | null;
  /** Lowercase hex. */
  readonly logId: string | null;
  readonly keyDetails: string | null;
  readonly validFrom: string | null;
  readonly validUntil: string | null;
}

export interface TrustedAuthoritySummary {
  readonly uri: string | null;
  /** The subject's organization and common name, as the document gives them. */
  readonly subject: string | null;
  readonly certificates: number;
  readonly validFrom: string | null;
  readonly validUntil: string | null;
}

export interface TrustedRootSummary {
  readonly mediaType: string;
  readonly tlogs: readonly TrustedLogSummary[];
  readonly certificateAuthorities: readonly TrustedAuthoritySummary[];
  readonly ctlogs: readonly TrustedLogSummary[];
  readonly timestampAuthorities: readonly TrustedAuthoritySummary[];
}

export function summarizeTrustedRoot(root: TrustedRoot): TrustedRootSummary {
  const { document } = root;
  return {
    mediaType: root.mediaType,
    tlogs: list(document.tlogs).map(logSummary),
    certificateAuthorities: list(document.certificateAuthorities).map(authoritySummary),
    ctlogs: list(document.ctlogs).map(logSummary),
    timestampAuthorities: list(document.timestampAuthorities).map(authoritySummary),
  };
}

function list(value: JsonValue | undefined): readonly JsonValue[] {
  return Array.isArray(value) ? (value as readonly JsonValue[]) : [];
}

function text(value: JsonValue | undefined): string | null {
  return typeof value === 'string' ? value : null;
}

function field(value: JsonValue | undefined, ...path: string[]): JsonValue | undefined {
  let current = value;
  for (const name of path) current = isJsonObject(current) ? current[name] : undefined;
  return current;
}

function logSummary(log: JsonValue): TrustedLogSummary {
  const keyId = text(field(log, 'logId', 'keyId'));
  const id = keyId === null ? undefined : decodeStdBase64(keyId);
  return {
    baseUrl: text(field(log, 'baseUrl')),
    logId: id === undefined ? null : Buffer.from(id).toString('hex'),
    keyDetails: text(field(log, 'publicKey', 'keyDetails')),
    validFrom: text(field(log, 'publicKey', 'validFor', 'start')),
    validUntil: text(field(log, 'publicKey', 'validFor', 'end')),
  };
}

function authoritySummary(authority: JsonValue): TrustedAuthoritySummary {
  const subject = [
    text(field(authority, 'subject', 'organization')),
    text(field(authority, 'subject', 'commonName')),
  ].filter((part): part is string => part !== null && part !== '');
  return {
    uri: text(field(authority, 'uri')),
    subject: subject.length === 0 ? null : subject.join(', '),
    certificates: list(field(authority, 'certChain', 'certificates')).length,
    validFrom: text(field(authority, 'validFor', 'start')),
    validUntil: text(field(authority, 'validFor', 'end')),
  };
}
