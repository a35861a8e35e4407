/**
 * The answer to one admission request, as a pure function of the images
 * found in its object and the decision for each (docs/design.md principle 2):
 *
 * - `denied` images reject the request; the message names each image, the
 *   container it is in, the rule and why (`kubectl` prints it verbatim);
 * - `unavailable` images (the evidence could not be gathered, or the
 *   deadline passed) follow the failure policy: `fail` rejects (the
 *   default: an image that could not be checked never runs), `ignore`
 *   admits with a warning and an audit annotation (principle 3);
 * - `warned` images admit with a `warnings` entry (warn mode);
 * - audit-mode failures admit silently but are recorded in
 *   `auditAnnotations`, as is every decision;
 * - on the mutating endpoint, an admitted request gets a JSONPatch that pins
 *   each image the rule says to pin (`mutateDigest`) to `repo:tag@digest`.
 */
import type { ImageDecision } from '../policy/evaluate.ts';
import type { ContainerImage } from './containers.ts';
import { type AdmissionResponse, deniedResponse, type JsonPatchOperation } from './review.ts';

export type FailurePolicy = 'fail' | 'ignore';
export const FAILURE_POLICIES: readonly FailurePolicy[] = ['fail', 'ignore'];

/** Kubernetes advises warnings of at most 120 characters and may truncate beyond 256. */
const MAX_WARNING_CHARS = 256;
/** Longest denial message; the API server puts it in an event and a CLI line. */
const MAX_MESSAGE_CHARS = 4096;

export interface Respond {
  readonly uid: string;
  /** What the request is about, for messages: `Deployment prod/web`. */
  readonly subject: string;
  readonly containers: readonly ContainerImage[];
  /** The decision for each distinct image string of `containers`. */
  readonly decisions: ReadonlyMap<string, ImageDecision>;
  readonly failurePolicy: FailurePolicy;
  /** Add the digest-pinning patch (the mutating endpoint). */
  readonly mutate: boolean;
  readonly policyRevision: string;
}

export function admissionResponse(input: Respond): AdmissionResponse {
  const denials: string[] = [];
  const warnings: string[] = [];
  const audit: string[] = [];
  const ignored: string[] = [];
  const recorded: {
    image: string;
    digest: string | undefined;
    rule: string | null;
    result: string;
  }[] = [];
  for (const [image, decision] of input.decisions) {
    // An undefined digest is left out of the annotation by JSON.stringify.
    recorded.push({
      image: decision.image,
      digest: decision.digest,
      rule: decision.rule,
      result: decision.result,
    });
    // An image allowed and passed is in no message: nothing more to write.
    if (decision.result === 'allowed' && decision.passed) continue;
    let where = '';
    for (const c of input.containers) {
      if (c.image === image) where = where === '' ? c.container : `${where}, ${c.container}`;
    }
    const line = `image ${image} (${where}): ${decision.reason}`;
    if (decision.result === 'denied') denials.push(line);
    else if (decision.result === 'unavailable') {
      if (input.failurePolicy === 'fail') {
        denials.push(`${line} [could not verify; failure policy: fail]`);
      } else {
        ignored.push(line);
        warnings.push(
          `vouch could not verify ${image}; admitted (failure policy: ignore): ${decision.reason}`,
        );
      }
    } else if (decision.result === 'warned') warnings.push(`vouch: ${line}`);
    else if (!decision.passed) audit.push(line);
  }
  const auditAnnotations: Record<string, string> = {
    policy: input.policyRevision,
    images: JSON.stringify(recorded),
  };
  if (audit.length > 0) auditAnnotations['audit'] = audit.join('; ');
  if (ignored.length > 0) auditAnnotations['failure-policy-ignored'] = ignored.join('; ');
  const extra = {
    auditAnnotations,
    ...(warnings.length === 0 ? {} : { warnings: warnings.map(clipWarning) }),
  };
  if (denials.length > 0) {
    const message = `vouch denied ${input.subject}: ${denials.join('; ')}`;
    return deniedResponse(input.uid, clip(message, MAX_MESSAGE_CHARS), extra);
  }
  const patch = input.mutate ? pinPatch(input.containers, input.decisions) : [];
  return {
    uid: input.uid,
    allowed: true,
    ...(patch.length === 0
      ? {}
      : {
          patchType: 'JSONPatch',
          patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
        }),
    ...extra,
  };
}

/** One `replace` per container whose image the decision pins (RFC 6902 §4.3). */
export function pinPatch(
  containers: readonly ContainerImage[],
  decisions: ReadonlyMap<string, ImageDecision>,
): JsonPatchOperation[] {
  const patch: JsonPatchOperation[] = [];
  for (const container of containers) {
    const pin = decisions.get(container.image)?.pin;
    if (pin !== undefined && pin !== container.image) {
      patch.push({ op: 'replace', path: container.pointer, value: pin });
    }
  }
  return patch;
}

function clipWarning(warning: string): string {
  return clip(warning, MAX_WARNING_CHARS);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
