/**
 * Signatures kept by the registry itself through the signature API
 * extension of OpenShift's integrated registry and Quay
 * (formats/simple-signing/signature-extension.ts has the JSON), read and
 * written as containers/image does (docker/docker_image_src.go
 * `appendSignaturesFromAPIExtension`, docker/docker_image_dest.go
 * `putSignaturesToAPIExtension`), through the registry client's
 * authentication. Whether a registry serves it is
 * `RegistryClient.supportsSignatureExtension`.
 */
import { randomBytes } from 'node:crypto';
import {
  atomicSignatures,
  buildExtensionSignature,
  type ExtensionSignature,
  isAtomic,
  MAX_SIGNATURE_LIST_BYTES,
  parseSignatureList,
} from '../formats/simple-signing/signature-extension.ts';
import type { Digest } from '../oci/digest.ts';
import type { RegistryRepository } from '../registry/distribution.ts';

async function signatureList(
  repository: RegistryRepository,
  digest: Digest,
): Promise<ExtensionSignature[]> {
  const bytes = await repository.getSignatureExtension(digest, MAX_SIGNATURE_LIST_BYTES);
  return parseSignatureList(bytes, `${repository.location}@${digest}`);
}

/** The signature blobs the registry keeps for `digest` (schemaVersion 2, type "atomic"), in its order. */
export async function readExtensionSignatures(
  repository: RegistryRepository,
  digest: Digest,
): Promise<Uint8Array[]> {
  return atomicSignatures(await signatureList(repository, digest));
}

export interface WrittenExtensionSignature {
  /** `<digest>@<32 hex>`, the signature's name on the registry. */
  readonly name: string;
  /** The registry already held these exact bytes, so nothing was sent. */
  readonly existing: boolean;
}

/**
 * Adds `blob` to the signatures of `digest`, unless the registry holds the
 * same bytes already, under a fresh random name no signature has (the
 * extension can only add, so signatures are never replaced).
 */
export async function writeExtensionSignature(
  repository: RegistryRepository,
  digest: Digest,
  blob: Uint8Array,
): Promise<WrittenExtensionSignature> {
  const list = await signatureList(repository, digest);
  const same = list.find(
    (signature) => isAtomic(signature) && Buffer.from(signature.content).equals(blob),
  );
  if (same !== undefined) return { name: same.name, existing: true };
  const names = new Set(list.map((signature) => signature.name));
  for (;;) {
    const signature = buildExtensionSignature(digest, blob, randomBytes(16).toString('hex'));
    if (names.has(signature.name)) continue;
    await repository.putSignatureExtension(digest, signature.body);
    return { name: signature.name, existing: false };
  }
}
