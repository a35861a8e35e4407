/**
 * The "simple signing" payload that cosign signs for a container image
 * (sigstore/sigstore pkg/signature/payload/payload.go; docs/formats.md
 * "Cosign signatures"): the JSON document whose exact bytes are the
 * `.sig` layer blob and the input of the cryptographic signature.
 *
 *   {"critical":{"identity":{"docker-reference":R},
 *                "image":{"docker-manifest-digest":D},
 *                "type":"cosign container image signature"},
 *    "optional":null | {annotations, keys sorted}}
 *
 * Writing follows cosign: Go `json.Marshal` of sigstore's
 * `payload.SimpleContainerImage` (sigstore/sigstore@bd0ad712:
 * pkg/signature/payload/payload.go), so struct order for `critical` and its
 * members, sorted keys for `optional`, Go's HTML escaping, and
 * `"optional":null` when there are no annotations (cosign's
 * `AnnotationsMap()` leaves the map nil until the first `-a`,
 * sigstore/cosign@d6d86c22:cmd/cosign/cli/options/annotations.go).
 *
 * Reading follows containers/image, the stricter of the two peers
 * (containers/image@df7e80d2:signature/internal/sigstore_payload.go
 * strictUnmarshalJSON): the top level has exactly `critical` and `optional`;
 * `critical` exactly `type`, `image`, `identity`; `image` exactly
 * `docker-manifest-digest`; `identity` exactly `docker-reference`; `type`
 * must be "cosign container image signature"; `optional` is null or an
 * object in which only `creator` (string) and `timestamp` (integer) are
 * interpreted and other keys are allowed. On top of that, to refuse payloads
 * that two verifiers could read differently:
 *
 * - duplicate keys anywhere are refused (JSON.parse and Go keep the last one,
 *   containers/image refuses) — see strict-json.ts;
 * - a key that differs from a required one only in case (`Docker-Manifest-Digest`,
 *   or with a Kelvin sign for `k`) is refused by name: Go's struct decoder,
 *   which cosign uses, matches it case-insensitively, containers/image calls it
 *   unknown; cosign's own SIGNATURE_SPEC example spells it that way;
 * - `null` where a string is required is refused (Go would read it as "");
 * - `docker-manifest-digest` must be a sha256 or sha512 digest vouch can
 *   compare (containers/image would also take sha384).
 *
 * `docker-reference` is not validated here: containers/image accepts any
 * string at this stage and cosign ignores it; the verifier decides.
 */
import { denied, invalid } from '../core/errors.ts';
import { type Digest, isDigest } from '../oci/digest.ts';
import type { ImageReference } from '../oci/reference.ts';
import { goMap, goMarshalBytes, type GoValue } from './go-json.ts';
import { describe, exactFields, object, string } from './json-fields.ts';
import { readCriticalSection } from './simple-signing/critical.ts';
import {
  type JsonObject,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../core/strict-json.ts';

/** `critical.type` of every cosign image signature (payload.go CosignSignatureType). */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

export interface SimpleSigningInput {
  /** The claimed identity: cosign writes the repository without tag (see `cosignDockerReference`). */
  readonly dockerReference: string;
  /** The digest of the manifest being signed. */
  readonly dockerManifestDigest: string;
  /** `-a key=value` pairs; none (or an empty record) gives `"optional":null`. */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface SimpleSigningPayload {
  readonly dockerReference: string;
  readonly dockerManifestDigest: Digest;
  readonly type: typeof COSIGN_SIGNATURE_TYPE;
  /** The `optional` object as signed, or null. Values are any JSON. */
  readonly optional: JsonObject | null;
  /** `optional.creator`, written by containers/image ("containers/image 5.21.2-dev"). */
  readonly creator?: string;
  /** `optional.timestamp` in Unix seconds, written by containers/image. */
  readonly timestamp?: number;
}

/** The payload bytes cosign would write for this input, byte for byte. */
export function buildSimpleSigningPayload(input: SimpleSigningInput): Uint8Array {
  const { dockerReference, dockerManifestDigest, annotations } = input;
  if (typeof dockerReference !== 'string' || dockerReference.length === 0) {
    throw invalid('INVALID_SIGNATURE_INPUT', 'docker-reference must be a non-empty string');
  }
  if (typeof dockerManifestDigest !== 'string' || !isDigest(dockerManifestDigest)) {
    throw invalid(
      'INVALID_SIGNATURE_INPUT',
      `docker-manifest-digest must be a sha256 or sha512 digest, found ${JSON.stringify(dockerManifestDigest)}`,
    );
  }
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (typeof value !== 'string') {
      throw invalid(
        'INVALID_SIGNATURE_INPUT',
        `annotation ${JSON.stringify(key)} must be a string`,
      );
    }
  }
  const optional: GoValue =
    annotations === undefined || Object.keys(annotations).length === 0 ? null : goMap(annotations);
  return goMarshalBytes({
    critical: {
      identity: { 'docker-reference': dockerReference },
      image: { 'docker-manifest-digest': dockerManifestDigest },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional,
  });
}

/**
 * The `docker-reference` cosign writes for an image: go-containerregistry's
 * `Repository.Name()` — registry and repository, no tag, with Docker Hub
 * spelled `index.docker.io` (pkg/name/registry.go rewrites `docker.io`;
 * repository.go adds `library/`, which `parseReference` already did).
 */
export function cosignDockerReference(ref: ImageReference): string {
  const registry = ref.registry === 'docker.io' ? 'index.docker.io' : ref.registry;
  return `${registry}/${ref.repository}`;
}

/**
 * The payload cosign writes when it signs `digest` in `repository` with no
 * annotations: `cosign sign` records `ClaimedIdentity` (by default the
 * digest's `Repository.Name()`, sigstore/cosign@d6d86c22:
 * cmd/cosign/cli/sign/sign.go) in sigstore's `payload.Cosign`
 * (sigstore/sigstore@bd0ad712:pkg/signature/payload/payload.go), and
 * `vouch sign` writes the same bytes. A verifier that finds a layer whose
 * digest and size are those of these bytes holds the layer's content
 * without fetching it; anything else (annotations, a claimed identity of
 * another repository, containers/image's `creator` and `timestamp`) does
 * not match and is fetched.
 */
export function predictedCosignPayload(repository: ImageReference, digest: Digest): Uint8Array {
  return buildSimpleSigningPayload({
    dockerReference: cosignDockerReference(repository),
    dockerManifestDigest: digest,
  });
}

/**
 * Parses payload bytes strictly (see the module comment). `where` names the
 * source for messages. Throws VouchError `denied` SIMPLE_SIGNING_INVALID.
 */
export function parseSimpleSigningPayload(
  bytes: Uint8Array,
  where = 'signature payload',
): SimpleSigningPayload {
  const fail = (problem: string, cause?: unknown) =>
    denied('SIMPLE_SIGNING_INVALID', `invalid simple-signing payload in ${where}: ${problem}`, {
      cause,
    });
  let document: JsonValue;
  try {
    document = parseStrictJson(bytes);
  } catch (error) {
    if (error instanceof StrictJsonError) throw fail(error.message, error);
    throw error;
  }
  const top = object(document, 'the payload', fail);
  exactFields(top, ['critical', 'optional'], 'the payload', fail);
  const signed = readCriticalSection(top, COSIGN_SIGNATURE_TYPE, fail);

  let optional: JsonObject | null = null;
  let creator: string | undefined;
  let timestamp: number | undefined;
  if (top.optional !== null) {
    optional = object(top.optional, 'optional', fail);
    if (Object.hasOwn(optional, 'creator'))
      creator = string(optional.creator, 'optional.creator', fail);
    if (Object.hasOwn(optional, 'timestamp')) {
      const value = optional.timestamp;
      // containers/image: an integral number (it reads a float64 and rejects fractions).
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        throw fail(`optional.timestamp must be an integer, found ${describe(value)}`);
      }
      timestamp = value;
    }
  }
  return {
    ...signed,
    type: COSIGN_SIGNATURE_TYPE,
    optional,
    ...(creator === undefined ? {} : { creator }),
    ...(timestamp === undefined ? {} : { timestamp }),
  };
}

export interface AnnotationMismatch {
  readonly key: string;
  readonly expected: string;
  /** The signed value, or undefined when the key is absent. */
  readonly found: JsonValue | undefined;
}

/**
 * Required annotations (`-a key=value`) the payload's `optional` does not carry
 * with exactly that string value; empty when all match. cosign compares with
 * Go `!=` on interface values (pkg/cosign/verify.go correctAnnotations), so a
 * signed number 1 does not match a required "1".
 */
export function unmatchedAnnotations(
  payload: SimpleSigningPayload,
  required: Readonly<Record<string, string>>,
): AnnotationMismatch[] {
  const mismatches: AnnotationMismatch[] = [];
  for (const [key, expected] of Object.entries(required)) {
    const found =
      payload.optional !== null && Object.hasOwn(payload.optional, key)
        ? payload.optional[key]
        : undefined;
    if (found !== expected) mismatches.push({ key, expected, found });
  }
  return mismatches;
}
