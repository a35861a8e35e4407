/**
 * The policy document as written (`PolicyDocument`, what the JSON Schema in
 * schema/policy.schema.json describes) and as compiled (`CompiledPolicy`,
 * immutable, with keys parsed, globs and CEL conditions compiled).
 */
import type { KeyObject } from 'node:crypto';
import type {
  CertificateIdentity,
  GithubWorkflowClaims,
} from '../sigstore/certificate-identity.ts';
import type { TrustPolicyDocument } from '../formats/notation/trust-policy.ts';
import type { TransparencyLog } from '../sigstore/trusted-root.ts';
import type { TrustedCertificate } from '../formats/notation/trust-store-certificates.ts';
import type { Condition } from './condition.ts';
import type { ImageGlob, NamespaceGlob } from './glob.ts';

export const POLICY_API_VERSION = 'vouch.dev/v1alpha1';
export const POLICY_KIND = 'ImagePolicy';

/** What happens to an image when a rule's requirements are not met. */
export type Mode = 'enforce' | 'warn' | 'audit';
export const MODES: readonly Mode[] = ['enforce', 'warn', 'audit'];

/** What happens to an image no rule matches. */
export type DefaultAction = 'deny' | 'warn' | 'allow';
export const DEFAULT_ACTIONS: readonly DefaultAction[] = ['deny', 'warn', 'allow'];

/** A PEM file (relative to the policy file) or the PEM text itself. */
export type PemSource = { readonly file: string } | { readonly pem: string };

export interface KeyAuthorityDocument {
  /** One key (`file` or `pem`), or several (`keys`), any of which may have signed. */
  readonly key: (PemSource | { readonly keys: readonly PemSource[] }) & {
    /** Count only signatures logged in a trusted transparency log (`vouch verify --require-tlog`). */
    readonly requireTlog?: boolean;
    /**
     * The public keys of the only transparency logs trusted (as containers-policy.json's
     * `rekorPublicKeyPath(s)`): each signature must carry a Rekor bundle one of them signed.
     */
    readonly rekorKeys?: readonly PemSource[];
    /** The signed docker-reference each signature must claim; absent: not checked. */
    readonly signedIdentity?: SignedIdentityDocument;
  };
}

export interface KeylessAuthorityDocument {
  readonly keyless: {
    readonly identity?: string;
    readonly identityRegExp?: string;
    readonly issuer?: string;
    readonly issuerRegExp?: string;
    readonly github?: GithubWorkflowClaims;
    /** A Sigstore trusted_root.json (relative to the policy file); default: the public-good root. */
    readonly trustedRoot?: string;
    /** The signed docker-reference each signature must claim; absent: not checked. */
    readonly signedIdentity?: SignedIdentityDocument;
  };
}

export interface NotaryAuthorityDocument {
  readonly notary: {
    /** The notary server; default: as docker picks it (notary.docker.io for docker.io, else the registry). */
    readonly server?: string;
    /** The root keys (or certificates) pinned for the repository's trust data: no trust on first use. */
    readonly rootKeys: readonly PemSource[];
  };
}

export interface NotationAuthorityDocument {
  readonly notation: {
    /** Certificate files (PEM or DER, relative to the policy file) of each trust store type. */
    readonly trustStore: {
      readonly ca?: readonly string[];
      readonly signingAuthority?: readonly string[];
      readonly tsa?: readonly string[];
    };
    /** `x509.subject: C=..., O=...` or `*`, as in a notation trust policy. */
    readonly trustedIdentities: readonly string[];
    /** notation's verification level; default strict (`skip` is refused). */
    readonly level?: 'strict' | 'permissive' | 'audit';
    readonly verifyTimestamp?: 'always' | 'afterCertExpiry';
    /** Whether the level's revocation check runs; default true (false: override `skip`). */
    readonly revocation?: boolean;
  };
}

/** containers-policy.json's `signedIdentity`: which signed docker-reference is accepted. */
export type SignedIdentityDocument =
  | { readonly type: 'matchRepoDigestOrExact' | 'matchExact' | 'matchRepository' }
  | { readonly type: 'exactReference'; readonly dockerReference: string }
  | { readonly type: 'exactRepository'; readonly dockerRepository: string };

export const SIGNED_IDENTITY_TYPES = [
  'matchRepoDigestOrExact',
  'matchExact',
  'matchRepository',
  'exactReference',
  'exactRepository',
] as const;

export interface GpgAuthorityDocument {
  /** GPG simple signing, as containers-policy.json `signedBy` with `keyType: GPGKeys`. */
  readonly gpg: (
    | {
        /** Keyring files (binary or armored), relative to the policy file. */
        readonly keyPaths: readonly string[];
      }
    | {
        /** ASCII-armored public keys (unlike policy.json's base64 keyData). */
        readonly keyData: string;
      }
  ) & {
    /** Default: matchRepoDigestOrExact. */
    readonly signedIdentity?: SignedIdentityDocument;
  };
}

export type AuthorityDocument =
  | KeyAuthorityDocument
  | KeylessAuthorityDocument
  | NotaryAuthorityDocument
  | NotationAuthorityDocument
  | GpgAuthorityDocument;

export interface AttestationRequirementDocument {
  readonly name?: string;
  /** A URI or one of cosign's shorthands (slsaprovenance1, spdxjson, ...). */
  readonly predicateType: string;
  /** Who must have signed the attestation; default: the rule's key and keyless authorities. */
  readonly authorities?: readonly string[];
  /** A CEL expression over the statement (see condition.ts). */
  readonly condition?: string;
}

export interface RuleDocument {
  readonly name: string;
  readonly images: readonly string[];
  readonly namespaces?: readonly string[];
  /** `allow` or `deny` without verifying anything; otherwise the rule verifies. */
  readonly action?: 'allow' | 'deny';
  readonly authorities?: readonly string[];
  readonly threshold?: number;
  readonly attestations?: readonly AttestationRequirementDocument[];
  readonly mode?: Mode;
  readonly mutateDigest?: boolean;
}

export interface PolicyDocument {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly kind: typeof POLICY_KIND;
  readonly name?: string;
  readonly defaultAction?: DefaultAction;
  readonly authorities?: Readonly<Record<string, AuthorityDocument>>;
  readonly rules: readonly RuleDocument[];
}

export interface KeyAuthority {
  readonly kind: 'key';
  readonly name: string;
  readonly keys: readonly KeyObject[];
  readonly requireTlog: boolean;
  /** From `rekorKeys`: the only logs trusted (requireTlog is then true); absent: the trusted root's. */
  readonly tlogs?: readonly TransparencyLog[];
  /** The rule a signature's `docker-reference` must satisfy; absent: not checked. */
  readonly signedIdentity?: SignedIdentityDocument;
}

export interface KeylessAuthority {
  readonly kind: 'keyless';
  readonly name: string;
  readonly identity: CertificateIdentity;
  /** As written in the policy, resolved against the policy's directory by the loader; absent: the default root. */
  readonly trustedRoot?: string;
  /** The rule a signature's `docker-reference` must satisfy; absent: not checked. */
  readonly signedIdentity?: SignedIdentityDocument;
}

export interface NotaryAuthority {
  readonly kind: 'notary';
  readonly name: string;
  readonly server?: string;
  /** notary's canonical IDs of the pinned root keys. */
  readonly rootKeyIds: readonly string[];
}

export interface NotationAuthority {
  readonly kind: 'notation';
  readonly name: string;
  /** One global statement standing for the authority (notation-authority.ts). */
  readonly trustPolicy: TrustPolicyDocument;
  /** The certificates of each trust store, by evaluate.ts `trustStoreKey`. */
  readonly trustStores: ReadonlyMap<string, readonly TrustedCertificate[]>;
}

export interface GpgAuthority {
  readonly kind: 'gpg';
  readonly name: string;
  /** The keyring bytes as read (loaded, once, by the gather step: loading is async). */
  readonly keyring: readonly Uint8Array[];
  /** Where the keys came from, for messages. */
  readonly keySource: string;
  readonly signedIdentity: SignedIdentityDocument;
}

export type Authority =
  KeyAuthority | KeylessAuthority | NotaryAuthority | NotationAuthority | GpgAuthority;
export type AuthorityKind = Authority['kind'];

export interface AttestationRequirement {
  readonly name: string;
  readonly predicateType: string;
  /** Key or keyless authorities, any of which may have signed it. */
  readonly authorities: readonly string[];
  readonly condition?: Condition;
}

export interface CompiledRule {
  readonly name: string;
  /** Position in the document: rules are tried in order, the first match decides. */
  readonly index: number;
  readonly images: readonly ImageGlob[];
  /** Absent: every namespace, and images checked outside Kubernetes. */
  readonly namespaces?: readonly NamespaceGlob[];
  readonly action: 'verify' | 'allow' | 'deny';
  readonly authorities: readonly string[];
  /** How many distinct authorities of the rule must have verified the image. */
  readonly threshold: number;
  readonly attestations: readonly AttestationRequirement[];
  readonly mode: Mode;
  readonly mutateDigest: boolean;
}

export interface CompiledPolicy {
  /** Where it was read from, for messages. */
  readonly source: string;
  readonly name?: string;
  /** The document as validated (for tools; `parsePolicy(JSON.stringify(document))` reads it again). */
  readonly document: PolicyDocument;
  /** sha256 of the document's JSON: a version for caches keyed by policy. */
  readonly revision: string;
  readonly defaultAction: DefaultAction;
  readonly authorities: ReadonlyMap<string, Authority>;
  readonly rules: readonly CompiledRule[];
}
