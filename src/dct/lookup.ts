/**
 * Which role of a verified repository vouches for a target name, the way
 * docker resolves a tag (docker/cli cli/command/image/trust.go
 * `getTrustedPullTargets` → notary client/reader.go `GetTargetByName(tag,
 * "targets/releases", "targets")` → tuf/tuf.go `WalkTargets`):
 *
 * - first the `targets/releases` subtree, then `targets` and everything
 *   below it except the `targets/releases` subtree;
 * - breadth-first; a role is visited only if one of its (narrowed) path
 *   prefixes covers the name; the first role holding the name wins;
 * - docker then trusts the answer only from `targets/releases` or `targets`
 *   themselves: a tag found only in another delegation is "no trust data".
 */
import type { FileMeta } from '../formats/notary/metadata.ts';
import type { TrustedRepository, VerifiedTargets } from './update.ts';

export const RELEASES_ROLE = 'targets/releases';
export const TARGETS_ROLE = 'targets';
/** The roles `docker pull` accepts a tag from, in the order it asks. */
export const DOCKER_TRUSTED_ROLES = [RELEASES_ROLE, TARGETS_ROLE] as const;

export interface SignedTarget {
  readonly name: string;
  readonly role: string;
  readonly meta: FileMeta;
  /** Key IDs whose signatures on that role's file verified. */
  readonly signers: readonly string[];
}

/** notary `GetTargetByName`: the first role, by `roles` priority, that holds `name`. */
export function findTarget(
  repository: TrustedRepository,
  name: string,
  roles: readonly string[] = DOCKER_TRUSTED_ROLES,
): SignedTarget | undefined {
  for (const role of roles) {
    const skip = roles.filter((other) => other !== role);
    const found = walk(repository, name, role, skip);
    if (found !== undefined) return found;
  }
  return undefined;
}

function walk(
  repository: TrustedRepository,
  name: string,
  rolePath: string,
  skip: readonly string[],
): SignedTarget | undefined {
  const queue: string[] = [TARGETS_ROLE];
  for (let role = queue.shift(); role !== undefined; role = queue.shift()) {
    const verified = repository.targets.get(role);
    // A role that did not verify is as good as absent (notary skips it).
    if (verified === undefined) continue;
    if (rolePath.startsWith(`${role}/`)) {
      queue.push(...children(verified));
      continue;
    }
    const inSubtree = role === rolePath || role.startsWith(`${rolePath}/`);
    if (!inSubtree || skip.includes(role) || !verified.paths.some((p) => name.startsWith(p))) {
      continue;
    }
    const meta = verified.metadata.signed.targets.get(name);
    if (meta !== undefined) return { name, role, meta, signers: verified.signers };
    queue.push(...children(verified));
  }
  return undefined;
}

function children(verified: VerifiedTargets): string[] {
  return verified.metadata.signed.delegations.map((delegation) => delegation.name);
}
