/**
 * Which requirements of a policy.json apply to an image of the `docker`
 * transport: containers/image's `PolicyContext.requirementsForImageRef`
 * (signature/policy_eval.go) with the docker transport's identity and
 * namespaces (docker/docker_transport.go PolicyConfigurationIdentity,
 * docker/policyconfiguration/naming.go DockerReferenceIdentity and
 * DockerReferenceNamespaces):
 *
 * 1. the scope equal to the image's identity, `host[:port]/repo:tag` or
 *    `host[:port]/repo@digest`;
 * 2. else the repository, then each parent namespace, then the host
 *    (with its port), then `*.` wildcards of the host without its port,
 *    from the most specific (`*.b.example.com`) to the least (`*.com`);
 * 3. else the transport's `""` scope;
 * 4. else the policy's `default`.
 *
 * References are canonical (oci/reference.ts: `busybox` is
 * `docker.io/library/busybox`), as upstream expands them before matching.
 * Lookups are in Maps, so the work is linear in the length of the name.
 */
import { invalid } from '../../core/errors.ts';
import { formatReference, type ImageReference, repositoryName } from '../../oci/reference.ts';
import type { ContainersPolicy, PolicyRequirements } from './policy-json.ts';
import './error-codes.ts';

/** The transport every image vouch evaluates comes from: a registry. */
export const DOCKER_TRANSPORT = 'docker';

/** Where the requirements came from, for reports. */
export interface ScopeMatch {
  /** `transports.docker` scope that matched, or undefined when `default` applied. */
  readonly scope?: string;
  readonly requirements: PolicyRequirements;
}

/**
 * docker_transport.go newReference: a reference with both a tag and a digest
 * is refused (`invalid` INVALID_REFERENCE), one with neither gets `latest`
 * (ParseReference's TagNameOnly). Returns the reference the policy sees.
 */
export function dockerTransportReference(ref: ImageReference): ImageReference {
  if (ref.tag !== undefined && ref.digest !== undefined) {
    throw invalid(
      'INVALID_REFERENCE',
      `${formatReference(ref)}: references with both a tag and a digest are not supported by containers/image's docker transport; give one`,
    );
  }
  if (ref.tag === undefined && ref.digest === undefined) return { ...ref, tag: 'latest' };
  return ref;
}

/** DockerReferenceIdentity: the full name with its tag or digest. */
export function policyConfigurationIdentity(ref: ImageReference): string {
  return formatReference(dockerTransportReference(ref));
}

/** DockerReferenceNamespaces: repository, parent namespaces, host, then `*.` host wildcards. */
export function policyConfigurationNamespaces(ref: ImageReference): string[] {
  const namespaces: string[] = [];
  let name = repositoryName(ref);
  for (;;) {
    namespaces.push(name);
    const lastSlash = name.lastIndexOf('/');
    if (lastSlash === -1) break;
    name = name.slice(0, lastSlash);
  }
  // The port goes before the wildcards: example.com:8443 gives *.com.
  const colon = name.indexOf(':');
  if (colon !== -1) name = name.slice(0, colon);
  for (;;) {
    const dot = name.indexOf('.');
    if (dot === -1) break;
    name = name.slice(dot + 1);
    namespaces.push(`*.${name}`);
  }
  return namespaces;
}

/** requirementsForImageRef for a `docker` transport image. */
export function requirementsForImage(policy: ContainersPolicy, ref: ImageReference): ScopeMatch {
  const scopes = policy.transports.get(DOCKER_TRANSPORT);
  if (scopes !== undefined) {
    const identity = policyConfigurationIdentity(ref);
    const exact = scopes.get(identity);
    if (exact !== undefined) return { scope: identity, requirements: exact };
    for (const namespace of policyConfigurationNamespaces(ref)) {
      const requirements = scopes.get(namespace);
      if (requirements !== undefined) return { scope: namespace, requirements };
    }
    const transportDefault = scopes.get('');
    if (transportDefault !== undefined) return { scope: '', requirements: transportDefault };
  }
  return { requirements: policy.default };
}
