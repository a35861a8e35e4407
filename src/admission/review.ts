/**
 * AdmissionReview v1 (`kubernetes/api@10b39a3:admission/v1/types.go`,
 * docs/formats.md "Kubernetes admission"): reading the API server's request strictly, and
 * writing the response it expects. Only `admission.k8s.io/v1` is accepted:
 * the webhook configurations vouch writes say `admissionReviewVersions: [v1]`.
 */
import { invalid } from '../core/errors.ts';
import {
  isJsonObject,
  type JsonObject,
  type JsonShape,
  type JsonValue,
  parseStrictJson,
  StrictJsonError,
} from '../core/strict-json.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** `metav1.GroupVersionKind`. */
export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** The fields of `AdmissionRequest` the webhook reads. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: GroupVersionKind;
  /** `""` for the main resource; `ephemeralcontainers`, `status`, `scale`, ... */
  readonly subResource: string;
  readonly name: string;
  readonly namespace: string;
  readonly operation: Operation;
  /** The new object; null for DELETE and CONNECT. */
  readonly object: JsonObject | null;
  readonly dryRun: boolean;
}

/** RFC 6902 operation: vouch only ever replaces an image string. */
export interface JsonPatchOperation {
  readonly op: 'replace';
  readonly path: string;
  readonly value: string;
}

/** `AdmissionResponse`. */
export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  /** `metav1.Status`, consulted only when not allowed. */
  readonly status?: {
    readonly status: 'Failure';
    readonly code: number;
    readonly reason: string;
    readonly message: string;
  };
  readonly patchType?: 'JSONPatch';
  /** base64 of the JSON patch. */
  readonly patch?: string;
  readonly auditAnnotations?: Readonly<Record<string, string>>;
  readonly warnings?: readonly string[];
}

/** Kubernetes objects are shallow next to this; deeper input is refused before it is walked. */
const MAX_DEPTH = 100;

/**
 * The members of a review the webhook reads, the only ones built: the rest
 * (`userInfo`, `resource`, `options`, `oldObject` on UPDATE, ...) is checked
 * as strictly, duplicate keys included, but not kept (issue 15: allocation
 * per review).
 */
const REVIEW_SHAPE: JsonShape = {
  apiVersion: true,
  kind: true,
  request: {
    uid: true,
    kind: true,
    subResource: true,
    name: true,
    namespace: true,
    operation: true,
    object: true,
    dryRun: true,
  },
};

/**
 * The request of an AdmissionReview v1 body. Throws `invalid`
 * ADMISSION_REVIEW_INVALID saying what is wrong: not strict JSON (duplicate
 * keys, trailing data), another apiVersion or kind, a missing uid.
 */
export function parseAdmissionReview(body: Uint8Array): AdmissionRequest {
  let document: JsonValue;
  try {
    document = parseStrictJson(body, { maxDepth: MAX_DEPTH, shape: REVIEW_SHAPE });
  } catch (error) {
    if (error instanceof StrictJsonError) throw bad(`not valid JSON: ${error.message}`);
    throw error;
  }
  if (!isJsonObject(document)) throw bad('the body is not a JSON object');
  if (document['apiVersion'] !== ADMISSION_API_VERSION) {
    throw bad(
      `apiVersion must be ${ADMISSION_API_VERSION}, not ${JSON.stringify(document['apiVersion'] ?? null)}`,
    );
  }
  if (document['kind'] !== ADMISSION_KIND) {
    throw bad(`kind must be ${ADMISSION_KIND}, not ${JSON.stringify(document['kind'] ?? null)}`);
  }
  const request = document['request'];
  if (!isJsonObject(request)) throw bad('request must be an object');
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid === '') throw bad('request.uid must be a non-empty string');
  const kind = request['kind'];
  if (
    !isJsonObject(kind) ||
    typeof kind['group'] !== 'string' ||
    typeof kind['version'] !== 'string' ||
    typeof kind['kind'] !== 'string'
  ) {
    throw bad('request.kind must be {group, version, kind}');
  }
  const operation = request['operation'];
  if (!OPERATIONS.includes(operation as Operation)) {
    throw bad(`request.operation must be one of ${OPERATIONS.join(', ')}`);
  }
  const object = request['object'] ?? null;
  if (object !== null && !isJsonObject(object)) throw bad('request.object must be an object');
  return {
    uid,
    kind: { group: kind['group'], version: kind['version'], kind: kind['kind'] },
    subResource: optionalString(request, 'subResource'),
    name: optionalString(request, 'name'),
    namespace: optionalString(request, 'namespace'),
    operation: operation as Operation,
    object,
    dryRun: request['dryRun'] === true,
  };
}

/** The body to answer with: an AdmissionReview of the same version holding `response`. */
export function reviewBody(response: AdmissionResponse): string {
  return JSON.stringify({ apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response });
}

/** A denial: HTTP-style code 403 so `kubectl` prints "admission webhook ... denied the request: message". */
export function deniedResponse(
  uid: string,
  message: string,
  extra: Pick<AdmissionResponse, 'auditAnnotations' | 'warnings'> = {},
): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: { status: 'Failure', code: 403, reason: 'Forbidden', message },
    ...extra,
  };
}

function optionalString(object: JsonObject, key: string): string {
  const value = object[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw bad(`request.${key} must be a string`);
  return value;
}

function bad(message: string) {
  return invalid('ADMISSION_REVIEW_INVALID', `AdmissionReview: ${message}`);
}
