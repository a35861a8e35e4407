/**
 * What a `.sig` or `.att` manifest in a store proves, checked from the
 * stored bytes with the codecs and keys only: src/sign/ tests may not import
 * src/verify/ (a sibling layer, eslint/layers.js), so they check what they
 * wrote with the same lower-layer primitives verify/ builds on.
 */
import { attestationTag } from '../../src/formats/cosign-attestation.ts';
import { readSignatureManifest, signatureTag } from '../../src/formats/cosign-signature.ts';
import { IN_TOTO_PAYLOAD_TYPE, parseEnvelope, preAuthEncoding } from '../../src/formats/dsse.ts';
import { parseStatement } from '../../src/formats/in-toto.ts';
import { parseSimpleSigningPayload } from '../../src/formats/simple-signing.ts';
import { verifySignature } from '../../src/keys/signer.ts';
import { type Digest, digestHex } from '../../src/oci/digest.ts';
import type { ImageStore } from '../../src/registry/store.ts';
import type { KeyObject } from 'node:crypto';

/** Whether `tag` names a manifest in `store`. */
async function exists(store: ImageStore, tag: string): Promise<boolean> {
  return (await store.listTags()).includes(tag);
}

/**
 * How many layers of `digest`'s `.sig` manifest carry a simple-signing
 * payload for exactly `digest` whose signature verifies with `publicKey`.
 */
export async function signaturesBy(
  store: ImageStore,
  digest: Digest,
  publicKey: KeyObject,
): Promise<number> {
  const tag = signatureTag(digest);
  if (!(await exists(store, tag))) return 0;
  const { candidates } = readSignatureManifest(await store.getManifest({ tag }));
  let count = 0;
  for (const candidate of candidates) {
    const payload = await store.readBlob(candidate.layer, candidate.layer.size);
    if (parseSimpleSigningPayload(payload).dockerManifestDigest !== digest) continue;
    if (verifySignature(publicKey, payload, candidate.signature)) count += 1;
  }
  return count;
}

/**
 * How many layers of `digest`'s `.att` manifest hold an in-toto statement
 * about exactly `digest`, of `predicateType`, in a DSSE envelope one of whose
 * signatures verifies with `publicKey`.
 */
export async function attestationsBy(
  store: ImageStore,
  digest: Digest,
  publicKey: KeyObject,
  predicateType: string,
): Promise<number> {
  const tag = attestationTag(digest);
  if (!(await exists(store, tag))) return 0;
  const manifest = await store.getManifest({ tag });
  if (manifest.kind !== 'image') return 0;
  let count = 0;
  for (const layer of manifest.manifest.layers) {
    const envelope = parseEnvelope(await store.readBlob(layer, layer.size));
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) continue;
    const statement = parseStatement(envelope.payload);
    const about = statement.subjects.some((s) => s.digest['sha256'] === digestHex(digest));
    if (!about || statement.predicateType !== predicateType) continue;
    const pae = preAuthEncoding(envelope.payloadType, envelope.payload);
    if (envelope.signatures.some((s) => verifySignature(publicKey, pae, s.sig))) count += 1;
  }
  return count;
}
