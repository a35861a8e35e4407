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
import * as pkijs from 'pkijs';
import { bytesOf, decodeAsn1, decodeWith, DerError, validTime } from './der.ts';
import { type AlgorithmId, algorithmIdOf, signatureProblem } from './signature-algorithm.ts';
import { distributionPointUrls, KEY_USAGE, type NotationCertificate } from './x509.ts';

/** notation's limit on a downloaded CRL (revocation/crl/fetcher.go `maxCRLSize`). */
export const MAX_CRL_BYTES = 32 * 1024 * 1024;

const EXT = {
  crlNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  freshestCrl: '2.5.29.46',
} as const;

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

/** Reads a DER CRL; throws DerError when it is not one (as Go's `ParseRevocationList`). */
export function parseCrl(der: Uint8Array): ParsedCrl {
  try {
    return readCrl(der);
  } catch (error) {
    if (error instanceof DerError) throw error;
    // Whatever pkijs or asn1js throw on hostile bytes is "not a CRL".
    throw new DerError(
      `the CRL is malformed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function readCrl(der: Uint8Array): ParsedCrl {
  const crl = decodeWith(pkijs.CertificateRevocationList, der, 'the CRL');
  let number: bigint | undefined;
  let deltaIndicator: bigint | undefined;
  let freshestCrlUrls: string[] = [];
  const unsupportedCritical: string[] = [];
  for (const extension of crl.crlExtensions?.extensions ?? []) {
    const value = bytesOf(extension.extnValue.valueBlock.valueHexView);
    switch (extension.extnID) {
      case EXT.crlNumber:
        number = integerExtension(value, 'CRL number');
        break;
      case EXT.deltaCrlIndicator:
        deltaIndicator = integerExtension(value, 'delta CRL indicator');
        break;
      case EXT.freshestCrl:
        freshestCrlUrls = distributionPointUrls(value, 'the CRL: Freshest CRL extension');
        break;
      case EXT.issuingDistributionPoint:
        // Its scope is not needed: every distribution point of a certificate is checked.
        break;
      default:
        if (extension.critical) unsupportedCritical.push(extension.extnID);
    }
  }
  return {
    der: bytesOf(der),
    tbs: bytesOf(crl.tbsView),
    signatureAlgorithm: algorithmIdOf(crl.signatureAlgorithm),
    signature: bytesOf(crl.signatureValue.valueBlock.valueHexView),
    thisUpdate: validTime(crl.thisUpdate.value, 'the CRL thisUpdate'),
    ...(crl.nextUpdate === undefined
      ? {}
      : { nextUpdate: validTime(crl.nextUpdate.value, 'the CRL nextUpdate') }),
    ...(number === undefined ? {} : { number }),
    ...(deltaIndicator === undefined ? {} : { deltaIndicator }),
    freshestCrlUrls,
    unsupportedCritical,
    entries: (crl.revokedCertificates ?? []).map(entryOf),
  };
}

function integerExtension(value: Uint8Array, what: string): bigint {
  const integer = decodeAsn1(value, what);
  if (!(integer instanceof asn1js.Integer))
    throw new DerError(`the CRL's ${what} is not an INTEGER`);
  return integer.toBigInt();
}

function entryOf(entry: pkijs.RevokedCertificate): CrlEntry {
  let reason = 0;
  let invalidityDate: Date | undefined;
  let unsupportedCritical: string | undefined;
  for (const extension of entry.crlEntryExtensions?.extensions ?? []) {
    const value = bytesOf(extension.extnValue.valueBlock.valueHexView);
    if (extension.extnID === EXT.reasonCode) {
      // Go's ParseRevocationList refuses a malformed reasonCode.
      const parsed = decodeAsn1(value, 'a CRL entry reason code');
      if (!(parsed instanceof asn1js.Enumerated))
        throw new DerError('a CRL entry reason code is not ENUMERATED');
      reason = parsed.valueBlock.valueDec;
    } else if (extension.extnID === EXT.invalidityDate) {
      const parsed = decodeAsn1(value, 'a CRL entry invalidity date');
      if (!(parsed instanceof asn1js.GeneralizedTime)) {
        throw new DerError('a CRL entry invalidity date is not a GeneralizedTime');
      }
      invalidityDate = validTime(parsed.toDate(), 'a CRL entry invalidity date');
    }
    // notation (`parseEntryExtensions`) supports the invalidity date alone:
    // any other critical entry extension, the reason code included, is an error.
    if (extension.critical && extension.extnID !== EXT.invalidityDate) {
      unsupportedCritical ??= extension.extnID;
    }
  }
  return {
    serialNumber: entry.userCertificate.toBigInt(),
    revocationDate: validTime(entry.revocationDate.value, 'a CRL entry revocation date'),
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
