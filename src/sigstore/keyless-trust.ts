/**
 * Trust material for keyless verification: the Fulcio certificate
 * authorities, certificate-transparency logs, transparency logs and
 * timestamp authorities of a trusted root, in the form @sigstore/verify
 * checks chains, SCTs, SETs, inclusion proofs and RFC 3161 timestamps
 * against (`toTrustMaterial(TrustedRoot.fromJSON(json))`; docs/formats.md
 * "Sigstore keyless verification").
 *
 * Built from the same document `parseTrustedRoot` already read, so the
 * transparency logs vouch checks itself (intoto 0.0.1 entries, key
 * signatures) and the ones @sigstore/verify checks are one and the same
 * list. Built once per trusted root and kept (a WeakMap on the parsed root):
 * decoding the certificates and keys is the costly part of a verification,
 * and a process verifying a thousand images does it once.
 *
 * The root is validated first: every CA, CT log and timestamp authority
 * must have a `validFor.start` (the transparency logs were checked by
 * `parseTrustedRoot`). @sigstore/verify reads a missing start as the epoch,
 * so a root without one would trust a key for any time before it was made;
 * the sigstore-conformance case `trust-root-tlog-missing-validity-start_fail`
 * requires refusing such a root.
 *
 * Errors: VouchError `invalid` TRUSTED_ROOT_INVALID, as for the rest of the
 * trusted root (bad trust material is the caller's input, not a verdict).
 */
import { TrustedRoot as TrustedRootMessage } from '@sigstore/protobuf-specs';
import type { KeyObject } from 'node:crypto';
import { type KeyFinderFunc, type TrustMaterial, toTrustMaterial } from '@sigstore/verify';
import { invalid, messageOf } from '../core/errors.ts';
import { isJsonObject, type JsonValue } from '../core/strict-json.ts';
import { trustOnce } from './certificate-encoding.ts';
import type { TransparencyLog, TrustedRoot } from './trusted-root.ts';

/** What keyless verification (and verification of a key's bundle) checks against. */
export interface KeylessTrust {
  /** For @sigstore/verify's `Verifier`. */
  readonly material: TrustMaterial;
  /** The same root's transparency logs, as vouch's own SET check (`rekor.ts`) reads them. */
  readonly tlogs: readonly TransparencyLog[];
}

const cache = new WeakMap<TrustedRoot, KeylessTrust>();

/**
 * The keyless trust material of `root`, built on first use and cached for
 * the life of `root`. `source` names the root in messages. Throws `invalid`
 * TRUSTED_ROOT_INVALID when the root cannot be trusted for keyless use.
 */
export function keylessTrustOf(root: TrustedRoot, source = 'the trusted root'): KeylessTrust {
  const cached = cache.get(root);
  if (cached !== undefined) return cached;
  const material = trustMaterialOf(root, source, 'keyless verification');
  if (material.certificateAuthorities.length === 0) {
    throw rootInvalid(
      source,
      'keyless verification',
      'it names no certificate authority (certificateAuthorities is empty)',
    );
  }
  const trust: KeylessTrust = { material, tlogs: root.tlogs };
  cache.set(root, trust);
  return trust;
}

/**
 * Trust in signatures by `publicKey` (a bundle's `publicKey` verification
 * material, whatever its hint: the key is given, as cosign's `--key`), with
 * the transparency logs and timestamp authorities of `root` to check the log
 * entries and timestamps the bundle carries (`toTrustMaterial(root,
 * keyFinder)`). Without a root there are none: a bundle that carries log
 * entries or timestamps then fails to verify. Throws `invalid`
 * TRUSTED_ROOT_INVALID for a root that cannot be used.
 */
export function publicKeyTrustOf(
  publicKey: KeyObject,
  root: TrustedRoot | undefined,
  source = 'the trusted root',
): KeylessTrust {
  const keyFinder = () => ({ publicKey, validFor: () => true });
  if (root === undefined) {
    return {
      material: {
        certificateAuthorities: [],
        timestampAuthorities: [],
        tlogs: [],
        ctlogs: [],
        publicKey: keyFinder,
      },
      tlogs: [],
    };
  }
  return {
    material: trustMaterialOf(root, source, 'verification with a key', keyFinder),
    tlogs: root.tlogs,
  };
}

function rootInvalid(source: string, use: string, problem: string, cause?: unknown) {
  return invalid(
    'TRUSTED_ROOT_INVALID',
    `${source} is not a usable Sigstore trusted root for ${use}: ${problem}`,
    { cause },
  );
}

/** `root` validated (see the module comment) and read by @sigstore/verify. */
function trustMaterialOf(
  root: TrustedRoot,
  source: string,
  use: string,
  keyFinder?: KeyFinderFunc,
): TrustMaterial {
  const problem = validityProblem(root.document);
  if (problem !== undefined) throw rootInvalid(source, use, problem);
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(TrustedRootMessage.fromJSON(root.document), keyFinder);
  } catch (error) {
    throw rootInvalid(source, use, messageOf(error), error);
  }
  // Every keyless verification compares the leaf with these certificates.
  for (const authority of material.certificateAuthorities) {
    for (const certificate of authority.certChain) trustOnce(certificate);
  }
  return material;
}

/** The first CA, CT log or TSA without a `validFor.start`, described; undefined when all have one. */
function validityProblem(document: Readonly<Record<string, JsonValue>>): string | undefined {
  const sections: ReadonlyArray<readonly [string, (entry: JsonValue) => JsonValue | undefined]> = [
    ['certificateAuthorities', (entry) => (isJsonObject(entry) ? entry.validFor : undefined)],
    ['timestampAuthorities', (entry) => (isJsonObject(entry) ? entry.validFor : undefined)],
    [
      'ctlogs',
      (entry) =>
        isJsonObject(entry) && isJsonObject(entry.publicKey) ? entry.publicKey.validFor : undefined,
    ],
    [
      'tlogs',
      (entry) =>
        isJsonObject(entry) && isJsonObject(entry.publicKey) ? entry.publicKey.validFor : undefined,
    ],
  ];
  for (const [name, validForOf] of sections) {
    const entries = document[name] ?? [];
    if (!Array.isArray(entries)) return `${name} is not an array`;
    for (const [index, entry] of (entries as readonly JsonValue[]).entries()) {
      const validFor = validForOf(entry);
      const field = name === 'ctlogs' || name === 'tlogs' ? 'publicKey.validFor' : 'validFor';
      if (!isJsonObject(validFor) || typeof validFor.start !== 'string') {
        return `${name}[${index}].${field}.start is missing: a trusted key or CA must say from when it is valid`;
      }
    }
  }
  return undefined;
}
