/**
 * The `critical` section both simple-signing payloads share: cosign's
 * ("cosign container image signature", formats/simple-signing.ts) and
 * containers/image's GPG one ("atomic container signature", payload.ts).
 * Read as containers/image's strictUnmarshalJSON reads it for either type
 * (containers/image@df7e80d2: signature/simple.go and
 * signature/internal/sigstore_payload.go): exactly `type`, `image`,
 * `identity`; `image` exactly `docker-manifest-digest`; `identity` exactly
 * `docker-reference`; `type` the one the payload's kind names.
 */
import type { JsonObject } from '../../core/strict-json.ts';
import { type Digest, isDigest } from '../../oci/digest.ts';
import { exactFields, type Fail, object, quote, string } from '../json-fields.ts';

export interface CriticalSection {
  readonly dockerManifestDigest: Digest;
  /** As signed; the identity rule of the verifier decides what it must be. */
  readonly dockerReference: string;
}

/** Reads `top.critical` of a payload of `type`, failing through `fail` with the member's path. */
export function readCriticalSection(top: JsonObject, type: string, fail: Fail): CriticalSection {
  const critical = object(top.critical, 'critical', fail);
  exactFields(critical, ['type', 'image', 'identity'], 'critical', fail);
  const found = string(critical.type, 'critical.type', fail);
  if (found !== type) {
    throw fail(`critical.type must be ${JSON.stringify(type)}, found ${quote(found)}`);
  }
  const image = object(critical.image, 'critical.image', fail);
  exactFields(image, ['docker-manifest-digest'], 'critical.image', fail);
  const digest = string(
    image['docker-manifest-digest'],
    'critical.image.docker-manifest-digest',
    fail,
  );
  if (!isDigest(digest)) {
    throw fail(
      `critical.image.docker-manifest-digest must be a sha256 or sha512 digest, found ${quote(digest)}`,
    );
  }
  const identity = object(critical.identity, 'critical.identity', fail);
  exactFields(identity, ['docker-reference'], 'critical.identity', fail);
  const dockerReference = string(
    identity['docker-reference'],
    'critical.identity.docker-reference',
    fail,
  );
  return { dockerManifestDigest: digest, dockerReference };
}
