/**
 * The Notary Project certificate requirements (specifications
 * `specs/signature-specification.md`, "Certificate Requirements"), checked
 * as notation-core-go checks them where the spec and the code differ
 * (x509/codesigning_cert_validations.go `ValidateCodeSigningCertChain`,
 * x509/timestamp_cert_validations.go `ValidateTimestampingCertChain`,
 * x509/helper.go, internal/algorithm/algorithm.go `ExtractKeySpec`), and the
 * trust-store step of verification (signature/signer.go
 * `VerifyAuthenticity`; `specs/trust-store-trust-policy.md`, "Steps").
 *
 * Pure: each check returns the first problem it finds, with a stable code
 * and a message naming the certificate, or undefined.
 */
import {
  EKU,
  issuedByProblem,
  KEY_USAGE,
  type NotationCertificate,
  sameCertificate,
  validAt,
} from './x509.ts';
import { signatureProblem } from './signature-algorithm.ts';
import { sameBytes } from './der.ts';

export type ChainProblemCode =
  /** Empty, too long, a link not issued by the next certificate, no self-signed root. */
  | 'NOTATION_CHAIN_INVALID'
  /** No certificate of the chain is in the trust store. */
  | 'NOTATION_CHAIN_UNTRUSTED'
  | 'NOTATION_CERT_BASIC_CONSTRAINTS'
  | 'NOTATION_CERT_KEY_USAGE'
  | 'NOTATION_CERT_EXTENDED_KEY_USAGE'
  /** The leaf's key is not RSA 2048/3072/4096 or ECDSA P-256/384/521. */
  | 'NOTATION_CERT_KEY_UNSUPPORTED'
  | 'NOTATION_CERT_NOT_YET_VALID'
  | 'NOTATION_CERT_EXPIRED';

export interface ChainProblem {
  readonly code: ChainProblemCode;
  /** Which certificate, what was expected, what was found. */
  readonly message: string;
}

export type ChainPurpose = 'codeSigning' | 'timestamping';

/**
 * Longer chains are refused before any signature is checked: notation sets
 * no bound, but a chain is leaf, a few intermediates and a root, and every
 * link costs a signature verification.
 */
export const MAX_CHAIN_LENGTH = 10;

const problem = (code: ChainProblemCode, message: string): ChainProblem => ({ code, message });

/**
 * `ValidateCodeSigningCertChain` / `ValidateTimestampingCertChain`: `chain`
 * (leaf first) links certificate by certificate to a self-signed root, each
 * certificate meets the requirements for its place in the chain, and (for
 * code signing, when `signingTime` is given) each was valid then. A chain of
 * one certificate is a self-signed leaf and must meet the leaf requirements.
 */
export function validateChain(
  chain: readonly NotationCertificate[],
  purpose: ChainPurpose,
  signingTime?: Date,
): ChainProblem | undefined {
  const what = purpose === 'codeSigning' ? 'code signing' : 'timestamping';
  if (chain.length === 0) {
    return problem('NOTATION_CHAIN_INVALID', `the ${what} certificate chain is empty`);
  }
  if (chain.length > MAX_CHAIN_LENGTH) {
    return problem(
      'NOTATION_CHAIN_INVALID',
      `the ${what} certificate chain has ${chain.length} certificates, more than ${MAX_CHAIN_LENGTH}`,
    );
  }
  const [only] = chain;
  if (chain.length === 1 && only !== undefined) {
    // notation checks the signature alone here (Certificate.CheckSignature):
    // a self-signed leaf is no CA, so CheckSignatureFrom would refuse it.
    const bad = signatureProblem(only.publicKey, only.signatureAlgorithm, only.tbs, only.signature);
    if (bad !== undefined) {
      return problem(
        'NOTATION_CHAIN_INVALID',
        `the self-signed certificate "${only.subject}" is invalid: ${bad}`,
      );
    }
    if (!sameBytes(only.rawSubject, only.rawIssuer)) {
      return problem(
        'NOTATION_CHAIN_INVALID',
        `the self-signed certificate "${only.subject}" is invalid: its issuer and subject differ`,
      );
    }
    if (purpose === 'codeSigning') {
      const time = validityProblem(only, signingTime);
      if (time !== undefined) return time;
    }
    return leafProblem(only, purpose);
  }
  for (const [i, cert] of chain.entries()) {
    if (purpose === 'codeSigning') {
      const time = validityProblem(cert, signingTime);
      if (time !== undefined) return time;
    }
    const parent = chain[i + 1];
    const selfSigned = issuedByProblem(cert, cert) === undefined;
    if (parent === undefined) {
      if (!selfSigned) {
        return problem(
          'NOTATION_CHAIN_INVALID',
          `the root certificate "${cert.subject}" is not self-signed: a ${what} chain must end with a self-signed root certificate`,
        );
      }
    } else {
      if (selfSigned) {
        return problem(
          'NOTATION_CHAIN_INVALID',
          `the ${i === 0 ? 'leaf' : 'intermediate'} certificate "${cert.subject}" is self-signed: only the last certificate of the chain may be`,
        );
      }
      const link = issuedByProblem(cert, parent);
      if (link !== undefined) {
        return problem(
          'NOTATION_CHAIN_INVALID',
          `the certificate "${cert.subject}" is not issued by "${parent.subject}": ${link}`,
        );
      }
    }
    const rules = i === 0 ? leafProblem(cert, purpose) : caProblem(cert, i - 1, purpose);
    if (rules !== undefined) return rules;
  }
  return undefined;
}

/** `validateSigningTime`: `time` within the certificate's validity (both ends inclusive). */
function validityProblem(
  cert: NotationCertificate,
  time: Date | undefined,
): ChainProblem | undefined {
  if (time === undefined || validAt(cert, time)) return undefined;
  return problem(
    time < cert.notBefore ? 'NOTATION_CERT_NOT_YET_VALID' : 'NOTATION_CERT_EXPIRED',
    `the certificate "${cert.subject}" was not valid at the signing time ${time.toISOString()}: it is valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`,
  );
}

/** `validateCABasicConstraints` and the CA key usage rules. */
function caProblem(
  cert: NotationCertificate,
  expectedPathLen: number,
  purpose: ChainPurpose,
): ChainProblem | undefined {
  const constraints = cert.basicConstraints;
  if (constraints === undefined || !constraints.ca) {
    return problem(
      'NOTATION_CERT_BASIC_CONSTRAINTS',
      `the CA certificate "${cert.subject}" must have basic constraints with cA set to true`,
    );
  }
  if (constraints.pathLen !== undefined && constraints.pathLen < expectedPathLen) {
    return problem(
      'NOTATION_CERT_BASIC_CONSTRAINTS',
      `the CA certificate "${cert.subject}" has path length constraint ${constraints.pathLen}, but ${expectedPathLen} certificates below it are intermediates`,
    );
  }
  const usage = keyUsagePresence(cert, purpose);
  if (usage !== undefined) return usage;
  if (((cert.keyUsage?.bits ?? 0) & KEY_USAGE.keyCertSign) === 0) {
    return problem(
      'NOTATION_CERT_KEY_USAGE',
      `the CA certificate "${cert.subject}" must have the keyCertSign key usage`,
    );
  }
  return undefined;
}

/**
 * Key usage must be present; for code signing it must also be critical
 * (the spec says SHOULD for timestamping, and notation does not require it).
 */
function keyUsagePresence(
  cert: NotationCertificate,
  purpose: ChainPurpose,
): ChainProblem | undefined {
  if (cert.keyUsage === undefined) {
    return problem(
      'NOTATION_CERT_KEY_USAGE',
      `the certificate "${cert.subject}" must have the key usage extension`,
    );
  }
  if (purpose === 'codeSigning' && !cert.keyUsage.critical) {
    return problem(
      'NOTATION_CERT_KEY_USAGE',
      `the certificate "${cert.subject}" must have its key usage extension marked critical`,
    );
  }
  return undefined;
}

const LEAF_FORBIDDEN_USAGES: readonly [number, string][] = [
  [KEY_USAGE.keyEncipherment, 'keyEncipherment'],
  [KEY_USAGE.dataEncipherment, 'dataEncipherment'],
  [KEY_USAGE.keyAgreement, 'keyAgreement'],
  [KEY_USAGE.keyCertSign, 'keyCertSign'],
  [KEY_USAGE.cRLSign, 'cRLSign'],
  [KEY_USAGE.encipherOnly, 'encipherOnly'],
  [KEY_USAGE.decipherOnly, 'decipherOnly'],
];

/**
 * Extended key usages a code signing leaf may not carry
 * (`validateCodeSigningExtendedKeyUsage`; the spec also lists
 * anyExtendedKeyUsage, the code does not and neither does vouch).
 */
const CODE_SIGNING_FORBIDDEN_EKUS: readonly [string, string][] = [
  [EKU.serverAuth, 'serverAuth'],
  [EKU.clientAuth, 'clientAuth'],
  [EKU.emailProtection, 'emailProtection'],
  [EKU.timeStamping, 'timeStamping'],
  [EKU.ocspSigning, 'OCSPSigning'],
];

/** The leaf rules: basic constraints, key usage, extended key usage, key type and size. */
function leafProblem(cert: NotationCertificate, purpose: ChainPurpose): ChainProblem | undefined {
  if (cert.basicConstraints?.ca === true) {
    return problem(
      'NOTATION_CERT_BASIC_CONSTRAINTS',
      `the leaf certificate "${cert.subject}" must not be a CA: its basic constraints have cA set to true`,
    );
  }
  const presence = keyUsagePresence(cert, purpose);
  if (presence !== undefined) return presence;
  const bits = cert.keyUsage?.bits ?? 0;
  if ((bits & KEY_USAGE.digitalSignature) === 0) {
    return problem(
      'NOTATION_CERT_KEY_USAGE',
      `the leaf certificate "${cert.subject}" must have the digitalSignature key usage`,
    );
  }
  const extra = LEAF_FORBIDDEN_USAGES.filter(([bit]) => (bits & bit) !== 0).map(([, name]) => name);
  if (extra.length > 0) {
    return problem(
      'NOTATION_CERT_KEY_USAGE',
      `the leaf certificate "${cert.subject}" must have digitalSignature as its only key usage, but it also has ${extra.join(', ')}`,
    );
  }
  const eku =
    purpose === 'codeSigning' ? codeSigningEkuProblem(cert) : timestampingEkuProblem(cert);
  return eku ?? keySpecProblem(cert);
}

function codeSigningEkuProblem(cert: NotationCertificate): ChainProblem | undefined {
  const purposes = cert.extKeyUsage?.purposes ?? [];
  for (const [oid, name] of CODE_SIGNING_FORBIDDEN_EKUS) {
    if (purposes.includes(oid)) {
      return problem(
        'NOTATION_CERT_EXTENDED_KEY_USAGE',
        `the code signing certificate "${cert.subject}" must not have the ${name} extended key usage`,
      );
    }
  }
  return undefined;
}

/**
 * RFC 3161 §2.3: exactly one extended key usage, id-kp-timeStamping, in a
 * critical extension (`validateTimestampingExtendedKeyUsage`).
 */
function timestampingEkuProblem(cert: NotationCertificate): ChainProblem | undefined {
  const eku = cert.extKeyUsage;
  if (eku === undefined || eku.purposes.length !== 1 || eku.purposes[0] !== EKU.timeStamping) {
    return problem(
      'NOTATION_CERT_EXTENDED_KEY_USAGE',
      `the timestamping certificate "${cert.subject}" must have timeStamping as its only extended key usage`,
    );
  }
  if (!eku.critical) {
    return problem(
      'NOTATION_CERT_EXTENDED_KEY_USAGE',
      `the timestamping certificate "${cert.subject}" must have its extended key usage extension marked critical`,
    );
  }
  return undefined;
}

/**
 * `ExtractKeySpec`: RSA of 2048, 3072 or 4096 bits (the spec says "2048 or
 * higher"; the code takes these three), ECDSA on P-256, P-384 or P-521.
 */
function keySpecProblem(cert: NotationCertificate): ChainProblem | undefined {
  const key = cert.publicKey;
  const details = key?.asymmetricKeyDetails;
  if (key?.asymmetricKeyType === 'rsa') {
    // Go's `rsa.PublicKey.Size() << 3`: the modulus length rounded up to bytes.
    const bits = Math.ceil((details?.modulusLength ?? 0) / 8) * 8;
    if (bits === 2048 || bits === 3072 || bits === 4096) return undefined;
    return problem(
      'NOTATION_CERT_KEY_UNSUPPORTED',
      `the certificate "${cert.subject}" has an RSA key of ${bits} bits; 2048, 3072 or 4096 are supported`,
    );
  }
  if (key?.asymmetricKeyType === 'ec') {
    const curve = details?.namedCurve;
    if (curve === 'prime256v1' || curve === 'secp384r1' || curve === 'secp521r1') return undefined;
    return problem(
      'NOTATION_CERT_KEY_UNSUPPORTED',
      `the certificate "${cert.subject}" has an ECDSA key on ${curve ?? 'an unknown curve'}; P-256, P-384 or P-521 are supported`,
    );
  }
  return problem(
    'NOTATION_CERT_KEY_UNSUPPORTED',
    `the certificate "${cert.subject}" has a ${key?.asymmetricKeyType ?? 'unreadable'} public key; RSA or ECDSA is required`,
  );
}

/**
 * `VerifyAuthenticity`: the first certificate of `chain` (leaf first) that
 * is also in `trusted`, compared byte for byte; undefined when none is.
 */
export function trustAnchorOf(
  chain: readonly NotationCertificate[],
  trusted: readonly NotationCertificate[],
): NotationCertificate | undefined {
  for (const cert of chain) {
    const anchor = trusted.find((t) => sameCertificate(t, cert));
    if (anchor !== undefined) return anchor;
  }
  return undefined;
}

/**
 * Every certificate of `chain` valid at `time` (notation's check at
 * verification time when no timestamp is verified, and of the authentic
 * signing time under `notary.x509.signingAuthority`).
 */
export function chainValidAt(
  chain: readonly NotationCertificate[],
  time: Date,
  when: string,
): ChainProblem | undefined {
  for (const cert of chain) {
    if (time < cert.notBefore) {
      return problem(
        'NOTATION_CERT_NOT_YET_VALID',
        `${when} (${time.toISOString()}) is before the certificate "${cert.subject}" is valid: it is valid from ${cert.notBefore.toISOString()}`,
      );
    }
    if (time > cert.notAfter) {
      return problem(
        'NOTATION_CERT_EXPIRED',
        `${when} (${time.toISOString()}) is after the certificate "${cert.subject}" expired at ${cert.notAfter.toISOString()}`,
      );
    }
  }
  return undefined;
}

export interface SigningChainOptions {
  /** The trust store's certificates (`ca` or `signingAuthority` stores of the policy). */
  readonly trusted: readonly NotationCertificate[];
  /**
   * When every certificate must have been valid: the verification time
   * (no timestamp verified), or the authentic signing time. Omit when a
   * verified timestamp decides instead (see timestamp.ts).
   */
  readonly validAt?: { readonly time: Date; readonly what: string };
}

/**
 * A signature envelope's chain as notation verifies it: the certificate
 * requirements (`validateChain` for code signing), then a certificate of
 * the chain in the trust store (`NOTATION_CHAIN_UNTRUSTED`), then, when
 * asked, validity at one time. Returns the trust store certificate matched.
 */
export function verifySigningChain(
  chain: readonly NotationCertificate[],
  options: SigningChainOptions,
):
  | { readonly ok: true; readonly anchor: NotationCertificate }
  | ({ readonly ok: false } & ChainProblem) {
  const invalid = validateChain(chain, 'codeSigning');
  if (invalid !== undefined) return { ok: false, ...invalid };
  const anchor = trustAnchorOf(chain, options.trusted);
  if (anchor === undefined) {
    return {
      ok: false,
      code: 'NOTATION_CHAIN_UNTRUSTED',
      message:
        options.trusted.length === 0
          ? 'no trusted certificates are configured to verify the signature with'
          : `no certificate of the signing chain (leaf "${chain[0]?.subject}") is in the trust store`,
    };
  }
  if (options.validAt !== undefined) {
    const expired = chainValidAt(chain, options.validAt.time, options.validAt.what);
    if (expired !== undefined) return { ok: false, ...expired };
  }
  return { ok: true, anchor };
}
