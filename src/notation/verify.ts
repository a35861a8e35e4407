/**
 * The Notary Project verification use-case (`vouch notation verify`), as
 * `notation verify` does it for one image, for many at once: the trust
 * policy statement that applies to the image's repository decides; level
 * `skip` verifies without looking at the registry at all (notation.go
 * `Verify`'s `SkipVerify`); otherwise the image is resolved, its signatures
 * gathered (evidence.ts), the revocation checks the evaluation will need
 * fetched (src/notation/revocation.ts), and evaluate.ts decides, purely.
 *
 * Trust stores are read once per run, only those the applicable statements
 * name, and a store that cannot be read fails only the signatures that need
 * it, as in notation. When authenticity is enforced and every `ca` and
 * `signingAuthority` store of the statement was read, signatures whose
 * thumbprint annotation names none of their certificates are skipped before
 * their envelopes are fetched.
 *
 * Signatures that name a verification plugin run it (plugin-verifier.ts)
 * when `verificationPlugins` says where plugins are installed; each
 * plugin's metadata is asked once per run. Without it, such signatures
 * fail, as plugins are not run.
 *
 * Every image ends in one of four statuses, as `vouch verify`'s do:
 * `verified`, `denied` (no signature verified), `invalid` (no such image, no
 * applicable statement, a trust store that cannot be read) and
 * `unavailable` (the registry, or a revocation server, could not be reached).
 */
import { createLimiter } from '../core/concurrency.ts';
import { invalid, isVouchError, messageOf, type VouchError } from '../core/errors.ts';
import type { PluginMetadata } from '../formats/notation/plugin-protocol.ts';
import type { VerifySignatureResponse } from '../formats/notation/verification-plugin.ts';
import {
  applicableStatement,
  GLOBAL_SCOPE,
  type TrustPolicyDocument,
  type TrustPolicyStatement,
  type TrustStoreReference,
} from '../formats/notation/trust-policy.ts';
import type { TrustedCertificate } from '../formats/notation/trust-store-certificates.ts';
import { parseCertificate } from '../formats/notation/x509.ts';
import type { ChainRevocation } from '../formats/notation/revocation-result.ts';
import { type Digest, digestOf } from '../oci/digest.ts';
import { parseReference } from '../oci/reference.ts';
import { DEFAULT_VERIFY_CONCURRENCY } from '../registry/http.ts';
import type { ImageSpec, Stores } from '../registry/open.ts';
import {
  evaluateNotation,
  type NotationEvaluateOptions,
  type NotationRevocationRequest,
  type NotationTrust,
  type NotationVerdict,
  planNotation,
  type TrustStoreContents,
  trustStoreKey,
  verifiesTimestamps,
} from './evaluate.ts';
import {
  gatherNotationSignatures,
  type NotationEvidence,
  type NotationGatherOptions,
  resolveNotationImage,
} from './evidence.ts';
import type {} from './error-codes.ts';
import {
  runVerifySignature,
  type VerificationPluginOptions,
  verificationPluginMetadata,
} from './plugin-verifier.ts';
import type { RevocationOptions } from './revocation.ts';

export type NotationImageStatus = 'verified' | 'denied' | 'invalid' | 'unavailable';

export interface NotationImageVerification {
  /** The image as the caller named it. */
  readonly image: string;
  readonly status: NotationImageStatus;
  /** The image's manifest, once resolved. */
  readonly digest?: Digest;
  readonly mediaType?: string;
  /** The trust policy statement that applied, once found. */
  readonly statement?: TrustPolicyStatement;
  /** Level `skip`: verified without looking for signatures. */
  readonly skipped?: boolean;
  /** Where the signatures were listed, and how many were not examined (--max-signatures). */
  readonly evidence?: Pick<NotationEvidence, 'referrersLocation' | 'notExamined'>;
  /** Each signature's checks; absent when no evidence was gathered. */
  readonly verdict?: NotationVerdict;
  /** Why the image is not verified (any status but `verified`). */
  readonly error?: VouchError;
}

/** `verifyTimestamp` is loaded here when a statement needs it. */
export interface NotationVerifyOptions extends Omit<NotationEvaluateOptions, 'verifyTimestamp'> {
  readonly policy: TrustPolicyDocument;
  /** Reads a named trust store (src/notation/trust-store.ts `readTrustStore` under a config dir). */
  readonly readTrustStore: (store: TrustStoreReference) => Promise<readonly TrustedCertificate[]>;
  /**
   * How certificates' revocation is checked. Without it nothing is fetched:
   * a revocation check the level does not skip cannot pass, nor can a
   * timestamp whose TSA chain must be checked (notation checks that one
   * whatever the level says of revocation).
   */
  readonly revocation?: RevocationOptions;
  /** Where verification plugins are installed, and how they run; without it none runs. */
  readonly verificationPlugins?: VerificationPluginOptions;
  /**
   * For images in OCI layouts, which have no repository: the `registry/repository`
   * whose statement applies (notation's `--scope`). Without it, only a global
   * statement (`*`) applies to them.
   */
  readonly layoutScope?: string;
  readonly limits?: Omit<NotationGatherOptions, 'envelopes' | 'trustedThumbprints'>;
  /** Images verified at once; 8 unless given. */
  readonly concurrency?: number;
  /** The time checks are made at; the clock unless given. */
  readonly now?: () => Date;
}

/**
 * Verifies each image (as a user types it: `host/repo:tag`,
 * `repo@sha256:...`, `oci:PATH:TAG`). Results come back in the order of
 * `images`; a problem with one image is its result, never a throw.
 */
export async function verifyNotationImages(
  stores: Stores,
  images: readonly string[],
  options: NotationVerifyOptions,
): Promise<NotationImageVerification[]> {
  const limit = createLimiter(options.concurrency ?? DEFAULT_VERIFY_CONCURRENCY);
  const trustStores = new Map<string, Promise<TrustStoreContents>>();
  const metadata = new Map<string, Promise<PluginMetadata | VouchError>>();
  const loadMetadata = (name: string) => {
    let loaded = metadata.get(name);
    if (loaded === undefined) {
      const plugins = options.verificationPlugins as VerificationPluginOptions;
      loaded = answerOrError(() =>
        verificationPluginMetadata(name, options.pluginConfig ?? {}, plugins),
      );
      metadata.set(name, loaded);
    }
    return loaded;
  };
  const loadStore = (store: TrustStoreReference) => {
    const key = trustStoreKey(store);
    let loaded = trustStores.get(key);
    if (loaded === undefined) {
      loaded = readStore(store, options);
      trustStores.set(key, loaded);
    }
    return loaded;
  };
  return Promise.all(
    images.map((image) => limit(() => verifyOne(stores, image, options, loadStore, loadMetadata))),
  );
}

async function verifyOne(
  stores: Stores,
  image: string,
  options: NotationVerifyOptions,
  loadStore: (store: TrustStoreReference) => Promise<TrustStoreContents>,
  loadMetadata: (name: string) => Promise<PluginMetadata | VouchError>,
): Promise<NotationImageVerification> {
  let result: Omit<NotationImageVerification, 'status'> = { image };
  try {
    const opened = await stores.openImage(image);
    if (opened.target === undefined) {
      throw invalid(
        'USAGE',
        `${image} names no manifest: add a tag or digest (oci:PATH:TAG or oci:PATH@DIGEST)`,
      );
    }
    const statement = statementFor(options.policy, opened.spec, options.layoutScope);
    result = { ...result, statement };
    if (statement.verification.base === 'skip') {
      return { ...result, status: 'verified', skipped: true };
    }
    const trust: NotationTrust = {
      statement,
      trustStores: new Map(
        await Promise.all(
          statement.trustStores.map(
            async (store) => [trustStoreKey(store), await loadStore(store)] as const,
          ),
        ),
      ),
    };
    const resolved = await resolveNotationImage(opened.store, opened.target, image);
    const { mediaType, digest } = resolved.descriptor;
    result = { ...result, digest, mediaType };
    const trustedThumbprints = thumbprintFilter(trust);
    const evidence = await gatherNotationSignatures(opened.store, resolved, {
      ...options.limits,
      ...(trustedThumbprints === undefined ? {} : { trustedThumbprints }),
    });
    const { referrersLocation, notExamined } = evidence;
    result = { ...result, evidence: { referrersLocation, notExamined } };
    const now = options.now?.() ?? new Date();
    // RFC 3161 timestamp verification brings pkijs: loaded only for a statement that uses it.
    const evaluateOptions: NotationEvaluateOptions = verifiesTimestamps(statement)
      ? {
          ...options,
          verifyTimestamp: (await import('../formats/notation/timestamp.ts')).verifyTimestamp,
        }
      : options;
    const revocations = new Map<string, ChainRevocation>();
    const plugins = {
      metadata: new Map<string, PluginMetadata | VouchError>(),
      responses: new Map<string, VerifySignatureResponse | VouchError>(),
    };
    // Each round answers what the last one found missing: plugins' metadata,
    // then the revocation checks and plugin calls that metadata leads to,
    // then the plugin calls that waited for revocation answers.
    for (let round = 0; round < 4; round++) {
      const plan = planNotation(evidence, trust, now, { revocations, plugins }, evaluateOptions);
      const work: Promise<void>[] = [];
      if (plan.revocations.length > 0) {
        work.push(
          fetchRevocations(plan.revocations, options.revocation).then((answers) => {
            for (const [key, answer] of answers) revocations.set(key, answer);
          }),
        );
      }
      const runner = options.verificationPlugins;
      if (runner !== undefined) {
        for (const name of plan.pluginMetadata) {
          work.push(loadMetadata(name).then((answer) => void plugins.metadata.set(name, answer)));
        }
        for (const call of plan.pluginCalls) {
          work.push(
            answerOrError(() => runVerifySignature(call, runner)).then(
              (answer) => void plugins.responses.set(call.key, answer),
            ),
          );
        }
      }
      if (work.length === 0) break;
      await Promise.all(work);
    }
    const verdict = evaluateNotation(evidence, trust, revocations, now, evaluateOptions, plugins);
    result = { ...result, verdict };
    if (verdict.error !== undefined) {
      return { ...result, status: verdict.error.category, error: verdict.error };
    }
    return { ...result, status: 'verified' };
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return { ...result, status: error.category, error };
  }
}

/**
 * The statement for an image: by its repository for a registry reference;
 * for a layout, by `scope` when given, else the global statement.
 */
function statementFor(
  policy: TrustPolicyDocument,
  spec: ImageSpec,
  scope: string | undefined,
): TrustPolicyStatement {
  if (spec.kind === 'registry') return applicableStatement(policy, spec.reference);
  if (scope !== undefined) return applicableStatement(policy, parseReference(scope));
  const global = policy.trustPolicies.find((statement) =>
    statement.registryScopes.includes(GLOBAL_SCOPE),
  );
  if (global !== undefined) return global;
  throw invalid(
    'USAGE',
    `the trust policy has no global statement ("*") for images in OCI layouts: name the repository whose statement applies with --scope`,
  );
}

/** A store's certificates as evaluate.ts reads them, or why they cannot be had. */
async function readStore(
  store: TrustStoreReference,
  options: NotationVerifyOptions,
): Promise<TrustStoreContents> {
  try {
    const certificates = (await options.readTrustStore(store)).map(({ der }, i) => {
      try {
        return parseCertificate(der, `certificate ${i + 1}`);
      } catch (error) {
        throw invalid(
          'NOTATION_TRUST_STORE_INVALID',
          `trust store ${JSON.stringify(store.name)} of type ${JSON.stringify(store.type)}: ${messageOf(error)}`,
        );
      }
    });
    return { ok: true, certificates };
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return { ok: false, error };
  }
}

/**
 * The thumbprints of every certificate a signature could be trusted by, when
 * skipping the others cannot change the outcome: authenticity is enforced
 * (an untrusted signature cannot verify) and every store it uses was read.
 */
function thumbprintFilter(trust: NotationTrust): ReadonlySet<string> | undefined {
  if (trust.statement.verification.actions.authenticity !== 'enforce') return undefined;
  const thumbprints = new Set<string>();
  for (const store of trust.statement.trustStores) {
    if (store.type === 'tsa') continue;
    const contents = trust.trustStores.get(trustStoreKey(store));
    if (contents === undefined || !contents.ok) return undefined;
    for (const certificate of contents.certificates) {
      thumbprints.add(digestOf(certificate.der).slice('sha256:'.length));
    }
  }
  return thumbprints;
}

/** What `run` returns, or the VouchError it throws. */
async function answerOrError<T>(run: () => Promise<T>): Promise<T | VouchError> {
  try {
    return await run();
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return error;
  }
}

/** The answers to `requests`, a few at a time; "not checked" when revocation cannot be checked. */
async function fetchRevocations(
  requests: readonly NotationRevocationRequest[],
  options: RevocationOptions | undefined,
): Promise<Map<string, ChainRevocation>> {
  const answers = new Map<string, ChainRevocation>();
  if (options === undefined) {
    for (const request of requests) {
      answers.set(request.key, {
        result: 'unknown',
        certificates: [],
        problem: { index: 0, subject: '', message: 'its revocation status was not checked' },
      });
    }
    return answers;
  }
  // OCSP brings pkijs: loaded only when a revocation check is made.
  const { checkRevocation } = await import('./revocation.ts');
  const limit = createLimiter(4);
  await Promise.all(
    requests.map((request) =>
      limit(async () => {
        const { chain, purpose, signingTime } = request;
        answers.set(
          request.key,
          await checkRevocation(
            { chain, purpose, ...(signingTime === undefined ? {} : { signingTime }) },
            options,
          ),
        );
      }),
    ),
  );
  return answers;
}
