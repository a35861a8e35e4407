/**
 * CRLs as notation-core-go checks a certificate against them
 * (revocation/internal/crl/crl.go `CertCheckStatus`, `validate`,
 * `checkRevocation`; revocation/crl/fetcher.go for delta CRLs), following
 * specifications `specs/trust-store-trust-policy.md`, "Revocation Checking
 * with CRL" and "... with Delta CRLs". Pure; downloading is src/notation/'s.
 *
 * One deliberate difference: a CRL carrying a delta CRL indicator is refused
 * where a base CRL is expected. notation accepts it, but a delta lists only
 * recent changes, so a delta replayed in place of the base would hide every
 * older revocation.
 */
import * as asn1js from 'asn1js';
import {
  bytesOf,
  decodeAsn1,
  DerError,
  DerReader,
  derInteger,
  derTime,
  isTimeTag,
  sameBytes,
  type Tlv,
} from './der.ts';
import { type AlgorithmId, algorithmIdOf, signatureProblem } from './signature-algorithm.ts';
import { distributionPointUrls, KEY_USAGE, type NotationCertificate } from './x509.ts';

/** notation's limit on a downloaded CRL (revocation/crl/fetcher.go `maxCRLSize`). */
export const MAX_CRL_BYTES = 32 * 1024 * 1024;

/** RFC 5280 §5.3.1 CRLReason values notation treats apart. */
const CERTIFICATE_HOLD = 6;
const REMOVE_FROM_CRL = 8;

export interface CrlEntry {
  readonly serialNumber: bigint;
  readonly revocationDate: Date;
  /** CRLReason; 0 (unspecified) when absent, as Go reads it. */
  readonly reason: number;
  /** The invalidityDate entry extension, when present and well formed. */
  readonly invalidityDate?: Date;
  /** A critical entry extension notation does not support, which makes the entry unusable. */
  readonly unsupportedCritical?: string;
}

export interface ParsedCrl {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: AlgorithmId;
  readonly signature: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  /** The CRL number extension. */
  readonly number?: bigint;
  /** The delta CRL indicator (the base CRL number it applies to): only delta CRLs have one. */
  readonly deltaIndicator?: bigint;
  /** URLs of the Freshest CRL extension: where this base CRL's delta is. */
  readonly freshestCrlUrls: readonly string[];
  /** Critical CRL extensions other than the ones notation handles. */
  readonly unsupportedCritical: readonly string[];
  readonly entries: readonly CrlEntry[];
}

/** A base CRL and, when its Freshest CRL extension names one, its delta. */
export interface CrlBundle {
  readonly base: ParsedCrl;
  readonly delta?: ParsedCrl;
}

/**
 * Reads a DER CRL; throws DerError when it is not one (as Go's
 * `ParseRevocationList`: version 2, the inner and outer signature
 * algorithms equal, every entry well formed). Read with DerReader, in one
 * pass over views of the input, since a CRL can be megabytes.
 */
export function parseCrl(der: Uint8Array): ParsedCrl {
  try {
    return readCrl(bytesOf(der));
  } catch (error) {
    if (error instanceof DerError) throw error;
    // Whatever the small parts' parser (asn1js) throws on hostile bytes is "not a CRL".
    throw new DerError(
      `the CRL is malformed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const BOOLEAN = 0x01;
const OID_TAG = 0x06;
const ENUMERATED = 0x0a;
const GENERALIZED_TIME = 0x18;
const EXPLICIT_0 = 0xa0;

/** The DER contents, in hex, of the extension OIDs read here (2.5.29.x is 55 1D x). */
const OID_BYTES = {
  crlNumber: '551d14',
  reasonCode: '551d15',
  invalidityDate: '551d18',
  deltaCrlIndicator: '551d1b',
  issuingDistributionPoint: '551d1c',
  freshestCrl: '551d2e',
} as const;

function readCrl(der: Uint8Array): ParsedCrl {
  const outer = new DerReader(der, 'the CRL');
  const certificateList = outer.read(SEQUENCE);
  outer.end();
  const list = new DerReader(certificateList.value, 'the CRL');
  const tbsTlv = list.read(SEQUENCE);
  const signatureAlgorithm = list.read(SEQUENCE);
  const signatureValue = list.read(BIT_STRING);
  list.end();

  const tbs = new DerReader(tbsTlv.value, 'the CRL');
  if (derInteger(tbs.read(INTEGER).value, 'the CRL version') !== 1n) {
    throw new DerError('the CRL is not version 2');
  }
  const innerAlgorithm = tbs.read(SEQUENCE);
  if (!sameBytes(innerAlgorithm.whole, signatureAlgorithm.whole)) {
    throw new DerError("the CRL's inner and outer signature algorithms differ");
  }
  tbs.read(SEQUENCE); // the issuer's name: the signature, not the name, says who issued it
  const thisUpdate = derTime(tbs.read(), 'the CRL thisUpdate');
  const nextUpdate = isTimeTag(tbs.peek()) ? derTime(tbs.read(), 'the CRL nextUpdate') : undefined;
  const revoked = tbs.readOptional(SEQUENCE);
  const extensionsTlv = tbs.readOptional(EXPLICIT_0);
  tbs.end();

  let number: bigint | undefined;
  let deltaIndicator: bigint | undefined;
  let freshestCrlUrls: string[] = [];
  const unsupportedCritical: string[] = [];
  if (extensionsTlv !== undefined) {
    const wrapper = new DerReader(extensionsTlv.value, 'the CRL extensions');
    const extensions = wrapper.read(SEQUENCE);
    wrapper.end();
    for (const extension of readExtensions(extensions.value, 'a CRL extension')) {
      switch (extension.oid) {
        case OID_BYTES.crlNumber:
          number = integerExtension(extension.value, 'CRL number');
          break;
        case OID_BYTES.deltaCrlIndicator:
          deltaIndicator = integerExtension(extension.value, 'delta CRL indicator');
          break;
        case OID_BYTES.freshestCrl:
          freshestCrlUrls = distributionPointUrls(
            extension.value,
            'the CRL: Freshest CRL extension',
          );
          break;
        case OID_BYTES.issuingDistributionPoint:
          // Its scope is not needed: every distribution point of a certificate is checked.
          break;
        default:
          if (extension.critical) unsupportedCritical.push(oidText(extension.oidTlv));
      }
    }
  }

  const entries: CrlEntry[] = [];
  if (revoked !== undefined) {
    const reader = new DerReader(revoked.value, 'the CRL entries');
    while (!reader.done) entries.push(entryOf(reader.read(SEQUENCE).value));
  }
  const [unusedBits, ...signature] = signatureValue.value;
  if (unusedBits !== 0) throw new DerError('the CRL signature is not a whole number of bytes');
  return {
    der,
    tbs: tbsTlv.whole,
    signatureAlgorithm: algorithmIdOf(
      decodeAsn1(signatureAlgorithm.whole, 'the CRL signature algorithm'),
      'the CRL signature algorithm',
    ),
    signature: Uint8Array.from(signature),
    thisUpdate,
    ...(nextUpdate === undefined ? {} : { nextUpdate }),
    ...(number === undefined ? {} : { number }),
    ...(deltaIndicator === undefined ? {} : { deltaIndicator }),
    freshestCrlUrls,
    unsupportedCritical,
    entries,
  };
}

interface RawExtension {
  /** The OID's DER contents, in hex. */
  readonly oid: string;
  readonly oidTlv: Tlv;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/** Extensions ::= SEQUENCE OF Extension { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }. */
function readExtensions(list: Uint8Array, what: string): RawExtension[] {
  const extensions: RawExtension[] = [];
  const reader = new DerReader(list, what);
  while (!reader.done) {
    const fields = new DerReader(reader.read(SEQUENCE).value, what);
    const oidTlv = fields.read(OID_TAG);
    const criticalTlv = fields.readOptional(BOOLEAN);
    // A DER TRUE is 0xFF; FALSE, the default, is never encoded.
    if (
      criticalTlv !== undefined &&
      !(criticalTlv.value.length === 1 && criticalTlv.value[0] === 0xff)
    ) {
      throw new DerError(`${what} has a malformed critical flag`);
    }
    const value = fields.read(OCTET_STRING).value;
    fields.end();
    extensions.push({
      oid: Buffer.from(oidTlv.value).toString('hex'),
      oidTlv,
      critical: criticalTlv !== undefined,
      value,
    });
  }
  return extensions;
}

function oidText(oid: Tlv): string {
  const parsed = decodeAsn1(oid.whole, 'an extension OID');
  return parsed instanceof asn1js.ObjectIdentifier ? parsed.valueBlock.toString() : '?';
}

function integerExtension(value: Uint8Array, what: string): bigint {
  const reader = new DerReader(value, `the CRL's ${what}`);
  const integer = derInteger(reader.read(INTEGER).value, `the CRL's ${what}`);
  reader.end();
  return integer;
}

/** An entry: SEQUENCE { userCertificate, revocationDate, crlEntryExtensions OPTIONAL }. */
function entryOf(entry: Uint8Array): CrlEntry {
  const reader = new DerReader(entry, 'a CRL entry');
  const serialNumber = derInteger(reader.read(INTEGER).value, 'a CRL entry serial number');
  const revocationDate = derTime(reader.read(), 'a CRL entry revocation date');
  const extensions = reader.readOptional(SEQUENCE);
  reader.end();
  let reason = 0;
  let invalidityDate: Date | undefined;
  let unsupportedCritical: string | undefined;
  const list =
    extensions === undefined ? [] : readExtensions(extensions.value, 'a CRL entry extension');
  for (const extension of list) {
    const value = new DerReader(extension.value, 'a CRL entry extension');
    if (extension.oid === OID_BYTES.reasonCode) {
      // Go's ParseRevocationList refuses a malformed reasonCode.
      reason = Number(derInteger(value.read(ENUMERATED).value, 'a CRL entry reason code'));
      value.end();
    } else if (extension.oid === OID_BYTES.invalidityDate) {
      invalidityDate = derTime(value.read(GENERALIZED_TIME), 'a CRL entry invalidity date');
      value.end();
    }
    // notation (`parseEntryExtensions`) supports the invalidity date alone:
    // any other critical entry extension, the reason code included, is an error.
    if (extension.critical && extension.oid !== OID_BYTES.invalidityDate) {
      unsupportedCritical ??= oidText(extension.oidTlv);
    }
  }
  return {
    serialNumber,
    revocationDate,
    reason,
    ...(invalidityDate === undefined ? {} : { invalidityDate }),
    ...(unsupportedCritical === undefined ? {} : { unsupportedCritical }),
  };
}

/**
 * `validate`: why `bundle` cannot be used to check a certificate issued by
 * `issuer` at `now`, or undefined when it can. Each CRL must be signed by the
 * issuer (Go's `RevocationList.CheckSignatureFrom`), have a nextUpdate not
 * yet passed, and no critical extension but the issuing distribution point
 * and the delta CRL indicator; a delta must have a greater CRL number than
 * the base and an indicator no greater than the base's number.
 */
export function crlBundleProblem(
  bundle: CrlBundle,
  issuer: NotationCertificate,
  now: Date,
): string | undefined {
  const base = crlProblem(bundle.base, issuer, now);
  if (base !== undefined) return `the base CRL ${base}`;
  if (bundle.base.deltaIndicator !== undefined) {
    return 'the base CRL is a delta CRL (it has a delta CRL indicator)';
  }
  const delta = bundle.delta;
  if (delta === undefined) return undefined;
  const deltaProblem = crlProblem(delta, issuer, now);
  if (deltaProblem !== undefined) return `the delta CRL ${deltaProblem}`;
  const baseNumber = bundle.base.number;
  if (delta.number === undefined || baseNumber === undefined) {
    return 'the base and delta CRLs must both have a CRL number';
  }
  if (delta.number <= baseNumber) {
    return `the delta CRL number ${delta.number} is not greater than the base CRL number ${baseNumber}`;
  }
  if (delta.deltaIndicator === undefined) return 'the delta CRL has no delta CRL indicator';
  if (delta.deltaIndicator > baseNumber) {
    return `the delta CRL applies to base CRL ${delta.deltaIndicator}, after base CRL ${baseNumber}`;
  }
  return undefined;
}

/** `validateCRL` of one CRL, worded to follow "the base CRL " / "the delta CRL ". */
function crlProblem(crl: ParsedCrl, issuer: NotationCertificate, now: Date): string | undefined {
  const constraints = issuer.basicConstraints;
  if ((issuer.version === 3 && constraints === undefined) || (constraints && !constraints.ca)) {
    return `cannot be signed by "${issuer.subject}", which is not a CA`;
  }
  const usage = issuer.keyUsage?.bits ?? 0;
  if (usage !== 0 && (usage & KEY_USAGE.cRLSign) === 0) {
    return `cannot be signed by "${issuer.subject}", which has no cRLSign key usage`;
  }
  const signature = signatureProblem(
    issuer.publicKey,
    crl.signatureAlgorithm,
    crl.tbs,
    crl.signature,
  );
  if (signature !== undefined) return `is not signed by "${issuer.subject}": ${signature}`;
  if (crl.nextUpdate === undefined) return 'has no nextUpdate';
  if (now > crl.nextUpdate) {
    return `expired at ${crl.nextUpdate.toISOString()} (it is now ${now.toISOString()})`;
  }
  const [critical] = crl.unsupportedCritical;
  if (critical !== undefined) return `has the unsupported critical extension ${critical}`;
  return undefined;
}

export type CrlStatus =
  { readonly status: 'ok' | 'revoked' } | { readonly status: 'error'; readonly message: string };

/**
 * `checkRevocation`: `cert`'s status in the base and delta CRLs. An entry
 * revokes it for good unless its reason is certificateHold (revoked for now)
 * or removeFromCRL (unrevoked); of those the latest entry decides. A
 * revocation whose invalidity date is after `signingTime` does not count.
 */
export function crlStatus(
  cert: NotationCertificate,
  bundle: CrlBundle,
  signingTime?: Date,
): CrlStatus {
  let latestTemporary: CrlEntry | undefined;
  for (const entry of [...bundle.base.entries, ...(bundle.delta?.entries ?? [])]) {
    if (entry.serialNumber !== cert.serialNumber) continue;
    if (entry.unsupportedCritical !== undefined) {
      return {
        status: 'error',
        message: `the CRL entry for this certificate has the unsupported critical extension ${entry.unsupportedCritical}`,
      };
    }
    if (
      signingTime !== undefined &&
      entry.invalidityDate !== undefined &&
      signingTime < entry.invalidityDate
    ) {
      return { status: 'ok' };
    }
    if (entry.reason === CERTIFICATE_HOLD || entry.reason === REMOVE_FROM_CRL) {
      if (latestTemporary === undefined || latestTemporary.revocationDate < entry.revocationDate) {
        latestTemporary = entry;
      }
    } else {
      return { status: 'revoked' };
    }
  }
  return { status: latestTemporary?.reason === CERTIFICATE_HOLD ? 'revoked' : 'ok' };
}
