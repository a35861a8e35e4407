/**
 * Gathering the evidence a policy needs (I/O), before `evaluatePolicy`
 * decides (pure). For each distinct image, with a bound on concurrency:
 *
 * - the rules that match it (in every namespace it is checked in) say what
 *   is needed; an image no rule verifies is not fetched at all;
 * - its digest is resolved once;
 * - the `.sig` evidence is fetched once and decided for each key and keyless
 *   authority with the verify use-case's own functions (`decide`,
 *   `withTlogs`), with the authority's `signedIdentity` rule, if any, checked
 *   against each payload's docker-reference for the image as named; cosign 3's bundle referrers are fetched only when some
 *   authority is not satisfied by the `.sig` layers, and then once;
 * - the attestations are fetched once and decided per authority and
 *   predicate type (`decideAttestations`);
 * - each notary authority runs `verifyNotaryImage` with the policy's pinned
 *   root keys, one at a time (each update writes the trust store);
 * - each notation authority runs `verifyNotationImages` on the resolved
 *   digest with the authority's own trust policy and certificates;
 * - the GPG simple signatures of the resolved digest are read once (from
 *   the registries.d lookaside or the registry's signature extension) and
 *   verified for each gpg authority with its keyring (gpg-keyring.ts: parsed
 *   once per compiled authority) and its `signedIdentity` rule.
 *
 * Nothing here decides whether an image is allowed: the outcome of each
 * check is recorded, including failures to check (`unavailable`), and a
 * failure of one image never stops the others.
 */
import { matchesSignedIdentity } from '../formats/containers-policy/signed-identity.ts';
import { createLimiter } from '../core/concurrency.ts';
import { isVouchError, messageOf, unavailable, type VouchError } from '../core/errors.ts';
import type { Digest } from '../oci/digest.ts';
import {
  formatReference,
  type ImageReference,
  parseReference,
  withDefaultTag,
} from '../oci/reference.ts';
import type { Stores } from '../registry/open.ts';
import type { ImageStore } from '../registry/store.ts';
import type { TransparencyLog } from '../sigstore/trusted-root.ts';
import type { NotaryServer } from '../dct/notary-server.ts';
import type { NotaryMetadataStore } from '../dct/metadata-store.ts';
import { verifyNotaryImage } from '../dct/verify-notary.ts';
import { trustStoreKey } from '../notation/evaluate.ts';
import type { RevocationOptions } from '../notation/revocation.ts';
import { verifyNotationImages } from '../notation/verify.ts';
import type { GpgKeyring } from '../formats/simple-signing/openpgp.ts';
import { verifyAtomicSignature } from '../formats/simple-signing/verify.ts';
import {
  type ImageSignatures,
  readSimpleSignatures,
  type SimpleSigningStoreOptions,
} from '../simple-signing/signature-stores.ts';
import type { AttestationGatherLimits } from '../verify/attestation-evidence.ts';
import { fetchAttestations } from '../verify/attestation-evidence.ts';
import { fetchBundleReferrers } from '../verify/bundle-evidence.ts';
import type { CertificateTrust, CosignTrust } from '../verify/evaluate.ts';
import {
  type Evidence,
  fetchSignatures,
  type GatherLimits,
  type ImageEvidence,
  resolveImage,
} from '../verify/evidence.ts';
import { decideAttestations } from '../verify/verify-attestation.ts';
import { decide } from '../verify/decide.ts';
import { type ImageVerification, withTlogs } from '../verify/verify.ts';
import {
  type AttestationResult,
  type AuthorityResult,
  type EvidencedImage,
  EVIDENCE_KIND,
  type PolicyEvidence,
} from './evidence.ts';
import { gpgKeyring } from './gpg-keyring.ts';
import { requirementsOf, selectRule } from './match.ts';
import {
  type CompiledPolicy,
  type CompiledRule,
  type GpgAuthority,
  type KeylessAuthority,
  type NotaryAuthority,
  type NotationAuthority,
  POLICY_API_VERSION,
} from './types.ts';

/** An image to check, and the namespace it runs in (absent outside Kubernetes). */
export interface PolicySubject {
  readonly image: string;
  readonly namespace?: string;
}

export interface GatherPolicyOptions {
  readonly stores: Stores;
  /**
   * The keyless trust of an authority (its identity under its trusted root,
   * see verify/certificate-trust.ts `certificateTrust`); called at most once
   * per authority. Required when the policy has keyless authorities.
   */
  readonly keylessTrust?: (authority: KeylessAuthority) => Promise<CertificateTrust>;
  /** Transparency logs for key signatures that carry a Rekor bundle (see verify.ts). */
  readonly loadTlogs?: () => Promise<readonly TransparencyLog[]>;
  /** Required when the policy has notary authorities. */
  readonly notary?: {
    readonly trustStore: NotaryMetadataStore;
    /** The notary server for an authority and the image's registry. */
    readonly server: (authority: NotaryAuthority, registry: string) => NotaryServer;
    /** Milliseconds since the epoch for expiry checks; now unless given. */
    readonly now?: number;
  };
  /** For notation authorities: how revocation is checked; without it, a revocation check the level enforces cannot pass. */
  readonly notation?: {
    readonly revocation?: RevocationOptions;
    /** The time checks are made at; the clock unless given. */
    readonly now?: () => Date;
  };
  /** Required when the policy has gpg authorities: where GPG simple signatures are read (registries.d, lookasides). */
  readonly gpg?: SimpleSigningStoreOptions & {
    /** The time key and signature validity are judged at; the clock unless given. */
    readonly now?: () => Date;
  };
  /** Images checked at once; 8 unless given. */
  readonly concurrency?: number;
  readonly limits?: GatherLimits & AttestationGatherLimits;
}

/**
 * The evidence about each distinct image of `subjects` (images written
 * differently but naming the same reference are checked once; the entry
 * keeps the first spelling). Never throws for a problem with an image.
 */
export async function gatherPolicyEvidence(
  policy: CompiledPolicy,
  subjects: readonly PolicySubject[],
  options: GatherPolicyOptions,
): Promise<PolicyEvidence> {
  const distinct = new Map<string, { image: string; rules: Set<CompiledRule> }>();
  for (const subject of subjects) {
    const key = imageKeyOf(subject.image);
    let entry = distinct.get(key);
    if (entry === undefined)
      distinct.set(key, (entry = { image: subject.image, rules: new Set() }));
    try {
      const rule = selectRule(policy, subject.image, subject.namespace);
      if (rule !== undefined) entry.rules.add(rule);
    } catch {
      // Not a reference: evaluatePolicy says so; nothing to fetch.
    }
  }
  const limit = createLimiter(options.concurrency ?? 8);
  const notaryTurn = createLimiter(1);
  const keyless = memoize(options.keylessTrust);
  const images = await Promise.all(
    [...distinct.values()].map(({ image, rules }) =>
      limit(() => gatherImage(policy, image, [...rules], options, keyless, notaryTurn)),
    ),
  );
  return { apiVersion: POLICY_API_VERSION, kind: EVIDENCE_KIND, images };
}

/** The reference an image names, so `nginx` and `docker.io/library/nginx:latest` are one image. */
export function imageKeyOf(image: string): string {
  try {
    return formatReference(withDefaultTag(parseReference(image)));
  } catch {
    return image;
  }
}

async function gatherImage(
  policy: CompiledPolicy,
  image: string,
  rules: readonly CompiledRule[],
  options: GatherPolicyOptions,
  keylessTrust: (authority: KeylessAuthority) => Promise<CertificateTrust>,
  notaryTurn: ReturnType<typeof createLimiter>,
): Promise<EvidencedImage> {
  const needsDigest = rules.some(
    (rule) => rule.action === 'verify' || (rule.action === 'allow' && rule.mutateDigest),
  );
  if (!needsDigest) return { image, authorities: [], attestations: [] };
  const needs = requirementsOf(policy, rules);
  let store: ImageStore;
  let resolved: ImageEvidence;
  const reference = formatReference(withDefaultTag(parseReference(image)));
  try {
    const opened = await options.stores.openImage(reference);
    store = opened.store;
    resolved = await resolveImage(store, opened.target ?? { tag: 'latest' }, image);
  } catch (error) {
    const e = asVouchError(error);
    return {
      image,
      error: { code: e.code, category: e.category, message: e.message },
      authorities: [],
      attestations: [],
    };
  }
  const authorities: AuthorityResult[] = [];
  const trustOf = async (name: string): Promise<CosignTrust> => {
    const authority = policy.authorities.get(name);
    if (authority?.kind === 'key') {
      return {
        keys: authority.keys,
        ...(authority.tlogs === undefined ? {} : { tlogs: authority.tlogs }),
      };
    }
    if (authority?.kind === 'keyless') return keylessTrust(authority);
    throw new Error(`${name} is not a signature authority`);
  };

  if (needs.signatures.size > 0) {
    authorities.push(
      ...(await signatureResults(
        store,
        resolved,
        parseReference(reference),
        [...needs.signatures],
        policy,
        trustOf,
        options,
      )),
    );
  }
  for (const name of needs.notary) {
    const authority = policy.authorities.get(name);
    if (authority?.kind !== 'notary') continue;
    authorities.push(await notaryTurn(() => notaryResult(authority, reference, options)));
  }
  for (const name of needs.notation) {
    const authority = policy.authorities.get(name);
    if (authority?.kind !== 'notation') continue;
    authorities.push(await notationResult(authority, reference, resolved.digest, options));
  }
  if (needs.gpg.size > 0) {
    const gpgAuthorities = [...needs.gpg]
      .map((name) => policy.authorities.get(name))
      .filter((authority): authority is GpgAuthority => authority?.kind === 'gpg');
    authorities.push(
      ...(await gpgResults(gpgAuthorities, store, reference, resolved.digest, options)),
    );
  }
  const attestations: AttestationResult[] = [];
  if (needs.attestations.size > 0) {
    let evidence: Awaited<ReturnType<typeof fetchAttestations>> | undefined;
    let failure: VouchError | undefined;
    try {
      evidence = await fetchAttestations(store, resolved, options.limits);
    } catch (error) {
      failure = asVouchError(error);
    }
    for (const [name, types] of needs.attestations) {
      for (const predicateType of types) {
        attestations.push(await attestationResult(name, predicateType, evidence, failure, trustOf));
      }
    }
  }
  return { image, digest: resolved.digest, authorities, attestations };
}

async function signatureResults(
  store: ImageStore,
  resolved: ImageEvidence,
  intended: ImageReference,
  names: readonly string[],
  policy: CompiledPolicy,
  trustOf: (name: string) => Promise<CosignTrust>,
  options: GatherPolicyOptions,
): Promise<AuthorityResult[]> {
  let evidence: Evidence;
  try {
    evidence = await fetchSignatures(store, resolved, options.limits);
  } catch (error) {
    const e = asVouchError(error);
    return names.map((authority) => failed(authority, e));
  }
  let withBundles: Promise<Evidence> | undefined;
  const results: AuthorityResult[] = [];
  for (const authority of names) {
    try {
      const compiled = policy.authorities.get(authority);
      const requireTlog = compiled?.kind === 'key' && compiled.requireTlog;
      const rule =
        compiled?.kind === 'key' || compiled?.kind === 'keyless'
          ? compiled.signedIdentity
          : undefined;
      const verifyOptions = await withTlogs(evidence, {
        trust: await trustOf(authority),
        ...(options.loadTlogs === undefined ? {} : { loadTlogs: options.loadTlogs }),
        policy: {
          ...(requireTlog ? { requireTlog: true } : {}),
          // The payload's docker-reference, for the image as named (containers/image's sigstoreSigned).
          ...(rule === undefined ? {} : { identityRule: { rule, intended } }),
        },
      });
      let result = decide(evidence, verifyOptions);
      if (result.status !== 'verified') {
        withBundles ??= fetchBundleReferrers(store, resolved, options.limits).then((bundles) => ({
          ...evidence,
          bundles,
        }));
        result = decide(await withBundles, verifyOptions);
      }
      results.push(signatureResult(authority, result));
    } catch (error) {
      results.push(failed(authority, asVouchError(error)));
    }
  }
  return results;
}

/** Rejection reasons quoted in a denial; admission messages must stay readable. */
const MAX_REASONS = 3;

function signatureResult(authority: string, result: ImageVerification): AuthorityResult {
  if (result.status !== 'verified') {
    // Why each signature did not count (a keyless identity that does not
    // match, a payload for another digest), as `vouch verify` prints it: a
    // bare "none is valid" leaves the policy author guessing.
    const rejected = [
      ...(result.verdict?.rejected ?? []),
      ...(result.bundleSignatures?.rejected ?? []),
    ].map(({ reason }) => `${reason.code}: ${reason.message}`);
    const reasons = [...new Set(rejected)];
    const quoted =
      reasons.length === 0
        ? ''
        : ` (${reasons.slice(0, MAX_REASONS).join('; ')}${reasons.length > MAX_REASONS ? `; ${reasons.length - MAX_REASONS} more` : ''})`;
    return {
      authority,
      status: result.status,
      ...(result.error === undefined ? {} : { code: result.error.code }),
      message: `${result.error?.message ?? 'not verified'}${quoted}`,
    };
  }
  const signed = [
    ...(result.verdict?.verified ?? []),
    ...(result.bundleSignatures?.verified ?? []),
  ];
  const signers = [
    ...new Set(
      signed.map((s) =>
        s.certificate === undefined
          ? `key of ${authority}`
          : `${s.certificate.claims.subject} (issuer ${s.certificate.claims.issuer})`,
      ),
    ),
  ];
  return {
    authority,
    status: 'verified',
    message: `${signed.length} valid signature${signed.length === 1 ? '' : 's'}`,
    signers,
  };
}

async function notaryResult(
  authority: NotaryAuthority,
  reference: string,
  options: GatherPolicyOptions,
): Promise<AuthorityResult> {
  const notary = options.notary;
  if (notary === undefined) {
    return failed(
      authority.name,
      unavailable('CHECK_FAILED', 'no notary client was configured for notary authorities'),
    );
  }
  try {
    const result = await verifyNotaryImage(reference, options.stores, {
      server: notary.server(authority, parseReference(reference).registry),
      trustStore: notary.trustStore,
      pinnedRootKeys: authority.rootKeyIds,
      ...(notary.now === undefined ? {} : { now: notary.now }),
    });
    if (result.status !== 'verified') {
      return {
        authority: authority.name,
        status: result.status,
        ...(result.error === undefined ? {} : { code: result.error.code }),
        message: result.error?.message ?? 'not verified',
      };
    }
    return {
      authority: authority.name,
      status: 'verified',
      message: `signed by ${result.role ?? 'a trusted role'}`,
      ...(result.digest === undefined ? {} : { digest: result.digest }),
      signers: [`${result.role ?? ''}`, ...(result.signers ?? [])],
    };
  } catch (error) {
    return failed(authority.name, asVouchError(error));
  }
}

async function notationResult(
  authority: NotationAuthority,
  reference: string,
  digest: string,
  options: GatherPolicyOptions,
): Promise<AuthorityResult> {
  try {
    // The digest the policy decides about, not the tag again: the tag may have moved.
    const { registry, repository } = parseReference(reference);
    const pinned = formatReference({ registry, repository, digest: digest as Digest });
    const [result] = await verifyNotationImages(options.stores, [pinned], {
      policy: authority.trustPolicy,
      readTrustStore: async (store) => authority.trustStores.get(trustStoreKey(store)) ?? [],
      ...(options.notation?.revocation === undefined
        ? {}
        : { revocation: options.notation.revocation }),
      ...(options.notation?.now === undefined ? {} : { now: options.notation.now }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      concurrency: 1,
    });
    if (result === undefined) throw new Error(`no notation result for ${pinned}`);
    if (result.status !== 'verified') {
      return {
        authority: authority.name,
        status: result.status,
        ...(result.error === undefined ? {} : { code: result.error.code }),
        message: result.error?.message ?? 'not verified',
      };
    }
    const signer = result.verdict?.verified?.signer;
    return {
      authority: authority.name,
      status: 'verified',
      message: 'a valid Notary Project signature',
      ...(result.digest === undefined ? {} : { digest: result.digest }),
      ...(signer === undefined ? {} : { signers: [signer.subject] }),
    };
  } catch (error) {
    return failed(authority.name, asVouchError(error));
  }
}

/** containers/image frames non-GPG signatures as `\x00<format>\n...` (internal/signature/signature.go). */
const FRAMED_SIGNATURE = 0x00;

async function gpgResults(
  authorities: readonly GpgAuthority[],
  store: ImageStore,
  reference: string,
  digest: Digest,
  options: GatherPolicyOptions,
): Promise<AuthorityResult[]> {
  const gpg = options.gpg;
  if (gpg === undefined) {
    const error = unavailable(
      'CHECK_FAILED',
      'no registries.d configuration was given for gpg authorities',
    );
    return authorities.map((authority) => failed(authority.name, error));
  }
  const intended = parseReference(reference);
  let found: ImageSignatures;
  try {
    found = await readSimpleSignatures(store, intended, digest, gpg);
  } catch (error) {
    const e = asVouchError(error);
    return authorities.map((authority) => failed(authority.name, e));
  }
  const blobs = found.signatures.filter(({ blob }) => blob[0] !== FRAMED_SIGNATURE);
  const results: AuthorityResult[] = [];
  for (const authority of authorities) {
    results.push(await gpgResult(authority, blobs, intended, digest, gpg.now?.()));
  }
  return results;
}

async function gpgResult(
  authority: GpgAuthority,
  signatures: ImageSignatures['signatures'],
  intended: ReturnType<typeof parseReference>,
  digest: Digest,
  now: Date | undefined,
): Promise<AuthorityResult> {
  let keyring: GpgKeyring;
  try {
    keyring = await gpgKeyring(authority);
  } catch (error) {
    return failed(authority.name, asVouchError(error));
  }
  if (signatures.length === 0) {
    return {
      authority: authority.name,
      status: 'denied',
      code: 'GPG_SIGNATURE_MISSING',
      message: `no GPG signature is stored for ${digest}`,
    };
  }
  // Each failure says which signature and why; any one verified signature is enough.
  const why: string[] = [];
  let worst: VouchError | undefined;
  for (const { blob, source } of signatures) {
    try {
      const verified = await verifyAtomicSignature(
        blob,
        keyring,
        { digest },
        {
          acceptIdentity: (signed) =>
            matchesSignedIdentity(authority.signedIdentity, intended, signed),
          ...(now === undefined ? {} : { now }),
        },
      );
      return {
        authority: authority.name,
        status: 'verified',
        message: `a valid GPG signature (${source}) by key ${verified.fingerprint} for ${verified.dockerReference}`,
        digest: verified.dockerManifestDigest,
        signers: [verified.fingerprint],
      };
    } catch (error) {
      const e = asVouchError(error);
      if (worst === undefined || (worst.category === 'denied' && e.category !== 'denied'))
        worst = e;
      why.push(`${source}: ${e.code}: ${e.message}`);
    }
  }
  const e = worst ?? asVouchError(undefined);
  return {
    authority: authority.name,
    status: e.category,
    code: e.code,
    message: `no GPG signature verified: ${why.join('; ')}`,
  };
}

async function attestationResult(
  authority: string,
  predicateType: string,
  evidence: Awaited<ReturnType<typeof fetchAttestations>> | undefined,
  failure: VouchError | undefined,
  trustOf: (name: string) => Promise<CosignTrust>,
): Promise<AttestationResult> {
  const failedWith = (e: VouchError): AttestationResult => ({
    authority,
    predicateType,
    status: e.category,
    code: e.code,
    message: e.message,
    statements: [],
  });
  if (evidence === undefined) return failedWith(failure ?? asVouchError(undefined));
  try {
    const result = decideAttestations(evidence, {
      trust: await trustOf(authority),
      policy: { predicateType },
    });
    const statements = (result.verdict?.verified ?? []).map((a) => a.statement);
    if (result.status !== 'verified') {
      return {
        authority,
        predicateType,
        status: result.status,
        ...(result.error === undefined ? {} : { code: result.error.code }),
        message: result.error?.message ?? 'not verified',
        statements,
      };
    }
    return {
      authority,
      predicateType,
      status: 'verified',
      message: `${statements.length} valid attestation${statements.length === 1 ? '' : 's'}`,
      statements,
    };
  } catch (error) {
    return failedWith(asVouchError(error));
  }
}

function failed(authority: string, error: VouchError): AuthorityResult {
  return { authority, status: error.category, code: error.code, message: error.message };
}

/** A VouchError as is; anything else (a bug, a foreign library) as `unavailable`: it was not checked. */
function asVouchError(error: unknown): VouchError {
  if (isVouchError(error)) return error;
  return unavailable('CHECK_FAILED', messageOf(error), { cause: error });
}

function memoize(
  build: ((authority: KeylessAuthority) => Promise<CertificateTrust>) | undefined,
): (authority: KeylessAuthority) => Promise<CertificateTrust> {
  const built = new Map<string, Promise<CertificateTrust>>();
  return (authority) => {
    let trust = built.get(authority.name);
    if (trust === undefined) {
      trust =
        build === undefined
          ? Promise.reject(
              new Error(`keyless authority ${authority.name}: no keyless trust was configured`),
            )
          : build(authority);
      built.set(authority.name, trust);
    }
    return trust;
  };
}
