/**
 * Loading a policy file (I/O): read it, parse it, read the PEM and OpenPGP
 * keyring files it names (relative to the policy file's directory), compile,
 * and parse each gpg authority's keyring (an unusable one fails the load). Trusted roots
 * named by keyless authorities are resolved to paths here and read by
 * whoever builds the keyless trust (`GatherPolicyOptions.keylessTrust`).
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { messageOf } from '../core/errors.ts';
import { DEFAULT_MAX_KEYRING_BYTES } from '../formats/simple-signing/openpgp.ts';
import { compilePolicy } from './compile.ts';
import { gpgKeyring } from './gpg-keyring.ts';
import { parsePolicy } from './parse.ts';
import { PolicyError } from './source.ts';
import type { CompiledPolicy, KeylessAuthority } from './types.ts';

/** Files a policy names larger than this are refused (keys and certificates are small). */
const MAX_PEM_BYTES = 1024 * 1024;
/** OpenPGP keyrings (gpg authorities) may hold many keys: openpgp.ts's own cap. */
const MAX_KEYRING_BYTES = DEFAULT_MAX_KEYRING_BYTES;

/**
 * Reads, parses and compiles the policy at `path`. Throws PolicyError
 * (`invalid` POLICY_INVALID) for anything wrong with it or the files it names,
 * and `invalid` POLICY_UNREADABLE when the policy itself cannot be read.
 */
export async function loadPolicyFile(path: string): Promise<CompiledPolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PolicyError('POLICY_UNREADABLE', path, [
      { path: '', line: 0, column: 0, message: `cannot read the policy: ${messageOf(error)}` },
    ]);
  }
  const parsed = parsePolicy(text, path);
  const files = new Map<string, Uint8Array>();
  const problems = [];
  for (const reference of parsed.files.values()) {
    if (reference.holds === 'trusted-root') continue;
    const cap = reference.holds === 'keyring' ? MAX_KEYRING_BYTES : MAX_PEM_BYTES;
    try {
      const bytes = await readFile(resolvePolicyPath(path, reference.path));
      if (bytes.length > cap) throw new Error(`larger than ${cap} bytes`);
      files.set(reference.path, bytes);
    } catch (error) {
      problems.push({
        path: reference.path,
        ...reference.position,
        message: `cannot read ${reference.path}: ${messageOf(error)}`,
      });
    }
  }
  if (problems.length > 0) throw new PolicyError('POLICY_INVALID', path, problems);
  const compiled = compilePolicy(parsed, files);
  // Trusted roots are read later, by path: resolve them against the policy now.
  const authorities = new Map(compiled.authorities);
  for (const [name, authority] of authorities) {
    if (authority.kind === 'keyless' && authority.trustedRoot !== undefined) {
      authorities.set(
        name,
        Object.freeze({
          ...authority,
          trustedRoot: resolvePolicyPath(path, authority.trustedRoot),
        } satisfies KeylessAuthority),
      );
    }
  }
  // Keyrings parse asynchronously: a gpg authority's keys are checked here, once.
  for (const [name, authority] of authorities) {
    if (authority.kind !== 'gpg') continue;
    const gpgPath = `authorities.${name}.gpg`;
    const document = parsed.document.authorities?.[name];
    const firstFile =
      document !== undefined && 'gpg' in document && 'keyPaths' in document.gpg
        ? document.gpg.keyPaths[0]
        : undefined;
    const at = (firstFile === undefined ? undefined : parsed.files.get(firstFile)?.position) ?? {
      line: 0,
      column: 0,
    };
    try {
      const keyring = await gpgKeyring(authority);
      if (keyring.size === 0) throw new Error(`${authority.keySource} holds no OpenPGP key`);
    } catch (error) {
      problems.push({ path: gpgPath, ...at, message: messageOf(error) });
    }
  }
  if (problems.length > 0) throw new PolicyError('POLICY_INVALID', path, problems);
  return Object.freeze({ ...compiled, authorities });
}

/** A path written in the policy, relative to the policy file's directory. */
export function resolvePolicyPath(policyPath: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(policyPath), path);
}
