/**
 * Verifying a signed blob (`vouch verify-blob`, cosign's `verify-blob`):
 * a Sigstore bundle (cosign 3 `--bundle`) or cosign 2's signature and
 * certificate files, over a file or only its SHA-256 digest (the
 * sigstore-conformance `verify-bundle` protocol's `sha256:<hex>`), with a key
 * or keylessly. The evidence is read by the caller; this decides.
 *
 * What must hold, in order:
 *
 * 1. a message signature's `messageDigest` is the artifact's digest, with
 *    the algorithm it names (given only a SHA-256 digest, it must be a
 *    SHA2_256 one): DIGEST_MISMATCH. The spec calls it identification only,
 *    but it is what the log entry records, so an artifact it does not name is
 *    never the one that was logged;
 * 2. a DSSE envelope holds an in-toto statement naming the artifact's SHA-256
 *    as a subject (the conformance protocol's rule for DSSE bundles, as
 *    `vouch verify-attestation` requires of the image digest):
 *    STATEMENT_INVALID, DIGEST_MISMATCH;
 * 3. keylessly, `sigstore/keyless.ts` `verifyBundle` (chain, SCT, log
 *    entries, timestamps, signature, identity); with a key,
 *    `sigstore/key-bundle.ts` `verifyKeyBundle` (log entries and timestamps
 *    against the trusted root, the entries naming the key, the signature);
 * 4. cosign 2's `--certificate-chain`: every certificate in it must be a CA
 *    certificate of the trusted root (CERT_CHAIN_INVALID): the chain is
 *    always built from the trusted root, so the file can add no trust.
 *
 * The signature is checked over what was signed with the hash the key signs
 * with: the artifact bytes; only its digest (`keys/digest-signature.ts`,
 * loaded only then: ECDSA and RSA; never a pure Ed25519 signature, which
 * covers the bytes themselves); or the envelope's PAE. Ed25519 keys sign a
 * logged blob with Ed25519ph (cosign), an unlogged one with pure Ed25519.
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import { isVouchError, messageOf } from '../core/errors.ts';
import { bundleOfSignatureFiles } from '../formats/blob-bundle.ts';
import { IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from '../formats/dsse.ts';
import { parseStatement } from '../formats/in-toto.ts';
import type { SigstoreBundle } from '../formats/sigstore-bundle.ts';
import type { SignatureHash } from '../keys/algorithms.ts';
import { tryKeyAlgorithm } from '../keys/algorithms.ts';
import { verifySignature } from '../keys/signer.ts';
import type { LogEntry, SignatureCheck } from '../sigstore/bundle-checks.ts';
import type { CertificateIdentity } from '../sigstore/certificate-identity.ts';
import type { KeyBundleProblemCode } from '../sigstore/key-bundle.ts';
import type { KeylessProblemCode, KeylessSigner } from '../sigstore/keyless.ts';
import type { KeylessTrust } from '../sigstore/keyless-trust.ts';

/** What was signed: its bytes, or only its SHA-256 digest. */
export type BlobArtifact =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'sha256'; readonly digest: Uint8Array };

/** The signature: a parsed bundle, or cosign 2's files. */
export type BlobSignature =
  | { readonly kind: 'bundle'; readonly bundle: SigstoreBundle }
  | {
      readonly kind: 'files';
      readonly signature: Uint8Array;
      /** `--certificate`: the signing certificate, DER. */
      readonly certificate?: Uint8Array | undefined;
      /** `--certificate-chain`: its issuers, DER. */
      readonly chain?: readonly Uint8Array[] | undefined;
    };

/** Who may have signed. */
export type BlobTrust =
  | {
      readonly kind: 'key';
      readonly publicKey: KeyObject;
      /**
       * `sigstore/keyless-trust.ts` `publicKeyTrustOf`: the trusted root's
       * logs and TSAs; undefined when no root was asked for, which is all a
       * bundle without log entries or timestamps needs.
       */
      readonly trust: KeylessTrust | undefined;
      readonly requireTlog: boolean;
    }
  | {
      readonly kind: 'certificate';
      readonly identity: CertificateIdentity;
      readonly trust: KeylessTrust;
      /** Accept a bundle with no log entry when a TSA timestamp stands in (`verifyBundle`'s `allowUnlogged`). */
      readonly allowUnlogged?: boolean;
    };

export type BlobProblemCode =
  | KeylessProblemCode
  | KeyBundleProblemCode
  | 'DIGEST_MISMATCH'
  | 'STATEMENT_INVALID'
  | 'CERT_CHAIN_INVALID';

export type BlobVerification =
  | {
      readonly ok: true;
      /** `sha256:<hex>` of the artifact. */
      readonly artifact: string;
      /** What the bundle signs: the artifact's bytes, or a statement about it. */
      readonly content: 'message-signature' | 'dsse-envelope';
      /** The predicate type of a DSSE statement. */
      readonly predicateType?: string;
      /** The certificate's signer, when verified keylessly. */
      readonly certificate?: KeylessSigner;
      /** The verified log entries (none for an unlogged key signature). */
      readonly tlog: readonly LogEntry[];
      /** Seconds since the Unix epoch: the earliest verified timestamp, if any. */
      readonly signingTime?: number;
    }
  | { readonly ok: false; readonly code: BlobProblemCode; readonly message: string };

type Problem = Extract<BlobVerification, { ok: false }>;

/**
 * Verifies `signature` over `artifact` for `trust` (see the module
 * comment). Never throws for a problem with the evidence: it is the result.
 */
export async function verifyBlob(
  artifact: BlobArtifact,
  signature: BlobSignature,
  trust: BlobTrust,
): Promise<BlobVerification> {
  const problem = (code: BlobProblemCode, message: string): Problem => ({
    ok: false,
    code,
    message,
  });
  const sha256 =
    artifact.kind === 'bytes'
      ? new Uint8Array(createHash('sha256').update(artifact.bytes).digest())
      : artifact.digest;
  const artifactName = `sha256:${Buffer.from(sha256).toString('hex')}`;

  let bundle: Bundle;
  if (signature.kind === 'bundle') {
    bundle = signature.bundle.bundle;
  } else {
    if (trust.kind === 'certificate' && signature.certificate === undefined) {
      return problem(
        'CERT_MISSING',
        'a keyless signature needs its certificate (--certificate), or a bundle (--bundle)',
      );
    }
    if (signature.chain !== undefined && trust.kind === 'certificate') {
      const { X509Certificate } = await import('@sigstore/core');
      const foreign = foreignChainCertificate(signature.chain, trust.trust, X509Certificate);
      if (foreign !== undefined) return foreign;
    }
    try {
      bundle = bundleOfSignatureFiles({
        signature: signature.signature,
        certificate: trust.kind === 'certificate' ? signature.certificate : undefined,
        sha256,
      });
    } catch (error) {
      if (!isVouchError(error)) throw error;
      return problem('BUNDLE_INVALID', messageOf(error));
    }
  }

  let check: SignatureCheck | undefined;
  let content: Uint8Array | undefined;
  let predicateType: string | undefined;
  if (bundle.content.$case === 'messageSignature') {
    const { messageDigest } = bundle.content.messageSignature;
    const hash = hashOfAlgorithm(messageDigest?.algorithm);
    if (messageDigest === undefined || hash === undefined) {
      return problem(
        'BUNDLE_UNSUPPORTED',
        'the message digest is not SHA-256, SHA-384 or SHA-512; vouch cannot check it names the artifact',
      );
    }
    const named = new Uint8Array(messageDigest.digest);
    if (artifact.kind === 'sha256') {
      if (hash !== 'sha256') {
        return problem(
          'DIGEST_MISMATCH',
          `the bundle identifies the artifact by its ${hash.toUpperCase()} digest; give the file, not its SHA-256`,
        );
      }
      if (!Buffer.from(named).equals(sha256)) return digestMismatch(named, artifactName);
      const { verifyDigestSignature } = await import('../keys/digest-signature.ts');
      check = (key, bytes) => verifyDigestSignature(key, sha256, 'sha256', bytes);
    } else {
      const actual = createHash(hash).update(artifact.bytes).digest();
      if (!actual.equals(named)) return digestMismatch(named, `${hash}:${actual.toString('hex')}`);
      content = artifact.bytes;
      if (trust.kind === 'key') {
        // cosign 2 signed with SHA-256 whatever the curve; its files say nothing of the hash.
        const signed = signature.kind === 'files' ? undefined : hash;
        check = await messageCheck(trust.publicKey, artifact.bytes, signed);
      }
    }
  } else {
    const envelope = bundle.content.dsseEnvelope;
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      return problem(
        'STATEMENT_INVALID',
        `the DSSE envelope holds ${JSON.stringify(envelope.payloadType)}, not an in-toto statement about the artifact`,
      );
    }
    let subjects;
    try {
      const statement = parseStatement(new Uint8Array(envelope.payload), 'the DSSE envelope');
      subjects = statement.subjects;
      predicateType = statement.predicateType;
    } catch (error) {
      if (!isVouchError(error)) throw error;
      return problem('STATEMENT_INVALID', messageOf(error));
    }
    const hex = Buffer.from(sha256).toString('hex');
    if (!subjects.some((subject) => subject.digest.sha256 === hex)) {
      return problem(
        'DIGEST_MISMATCH',
        `no subject of the in-toto statement has the artifact's digest ${artifactName}`,
      );
    }
    if (trust.kind === 'key') {
      const pae = preAuthEncoding(envelope.payloadType, new Uint8Array(envelope.payload));
      check = (key, bytes) => verifySignature(key, pae, bytes);
    }
  }

  const kind = bundle.content.$case === 'messageSignature' ? 'message-signature' : 'dsse-envelope';
  const extra = predicateType === undefined ? {} : { predicateType };
  // Each kind loads only its own verifier: a key's never pays for the
  // certificate identity's RE2 engine (a one-shot process pays for every
  // module it loads, docs/benchmarks.md).
  if (trust.kind === 'certificate') {
    const { verifyBundle } = await import('../sigstore/keyless.ts');
    const result = verifyBundle(bundle, content, trust.trust, trust.identity, {
      ...(check === undefined ? {} : { checkSignature: check }),
      allowUnlogged: trust.allowUnlogged === true,
    });
    if (!result.ok) return result;
    const { ok: _, ...signer } = result;
    return {
      ok: true,
      artifact: artifactName,
      content: kind,
      ...extra,
      certificate: signer,
      tlog: signer.tlog,
      signingTime: signer.signingTime,
    };
  }
  const plain = plainKeySignature(bundle, trust.requireTlog);
  if (plain !== undefined) {
    // Nothing in the bundle to check against the trusted root: the key
    // alone decides, as verifyKeyBundle decides such a bundle, without
    // loading @sigstore/verify for it.
    if (!(check ?? (() => false))(trust.publicKey, plain)) {
      return problem('SIGNATURE_INVALID', 'the signature does not verify with the key');
    }
    return { ok: true, artifact: artifactName, content: kind, ...extra, tlog: [] };
  }
  const [{ verifyKeyBundle }, { publicKeyTrustOf }] = await Promise.all([
    import('../sigstore/key-bundle.ts'),
    import('../sigstore/keyless-trust.ts'),
  ]);
  const keyTrust = trust.trust ?? publicKeyTrustOf(trust.publicKey, undefined);
  const result = verifyKeyBundle(bundle, content, trust.publicKey, keyTrust, {
    checkSignature: check ?? (() => false),
    requireTlog: trust.requireTlog,
  });
  if (!result.ok) return result;
  return {
    ok: true,
    artifact: artifactName,
    content: kind,
    ...extra,
    tlog: result.tlog,
    ...(result.signingTime === undefined ? {} : { signingTime: result.signingTime }),
  };
}

/**
 * The signature of a bundle signed with a key that carries no log entry and
 * no timestamp, when none is required; undefined for any other bundle
 * (a certificate's, a logged or timestamped one, a DSSE envelope without
 * exactly one signature), which verifyKeyBundle decides.
 */
function plainKeySignature(bundle: Bundle, requireTlog: boolean): Uint8Array | undefined {
  const material = bundle.verificationMaterial;
  if (
    requireTlog ||
    material.content.$case !== 'publicKey' ||
    material.tlogEntries.length > 0 ||
    (material.timestampVerificationData?.rfc3161Timestamps.length ?? 0) > 0
  ) {
    return undefined;
  }
  if (bundle.content.$case === 'messageSignature') {
    return new Uint8Array(bundle.content.messageSignature.signature);
  }
  const [only, ...more] = bundle.content.dsseEnvelope.signatures;
  return only === undefined || more.length > 0 ? undefined : new Uint8Array(only.sig);
}

/** The hash of a protobuf `HashAlgorithm` (its number, as @sigstore/bundle reads it). */
function hashOfAlgorithm(algorithm: number | undefined): SignatureHash | undefined {
  // sigstore/protobuf-specs protos/sigstore_common.proto HashAlgorithm.
  return algorithm === 1
    ? 'sha256'
    : algorithm === 2
      ? 'sha384'
      : algorithm === 3
        ? 'sha512'
        : undefined;
}

function digestMismatch(named: Uint8Array, actual: string): Problem {
  return {
    ok: false,
    code: 'DIGEST_MISMATCH',
    message: `the signature is for an artifact with digest ${Buffer.from(named).toString('hex')}, but this one's is ${actual}`,
  };
}

/**
 * The check of a key's signature over the artifact's bytes: the hash the
 * bundle names (ECDSA, RSA; undefined: the key type's or SHA-256, see
 * keys/signer.ts `verifySignature`); pure Ed25519, or Ed25519ph when the
 * bundle names SHA-512 (what cosign signs a logged blob with).
 */
async function messageCheck(
  publicKey: KeyObject,
  bytes: Uint8Array,
  hash: SignatureHash | undefined,
): Promise<SignatureCheck> {
  if (tryKeyAlgorithm(publicKey) !== 'ed25519') {
    return (key, signature) =>
      verifySignature(key, bytes, signature, hash === undefined ? {} : { hash });
  }
  const { verifyEd25519ph } = await import('../keys/digest-signature.ts');
  return (key, signature) =>
    verifySignature(key, bytes, signature) ||
    (hash === 'sha512' && verifyEd25519ph(key, bytes, signature));
}

/** CERT_CHAIN_INVALID for the first certificate of `chain` that is no CA certificate of the trusted root. */
function foreignChainCertificate(
  chain: readonly Uint8Array[],
  trust: KeylessTrust,
  X509: typeof X509Certificate,
): Problem | undefined {
  const known = trust.material.certificateAuthorities.flatMap((ca) => ca.certChain);
  for (const [index, der] of chain.entries()) {
    let certificate: X509Certificate;
    try {
      certificate = X509.parse(Buffer.from(der));
    } catch (error) {
      return {
        ok: false,
        code: 'CERT_INVALID',
        message: `certificate ${index + 1} of --certificate-chain: ${messageOf(error)}`,
      };
    }
    if (!known.some((candidate) => candidate.equals(certificate))) {
      return {
        ok: false,
        code: 'CERT_CHAIN_INVALID',
        message: `certificate ${index + 1} of --certificate-chain is not a CA certificate of the trusted root; the chain is built from the trusted root, a file cannot add trust`,
      };
    }
  }
  return undefined;
}
