/**
 * The I/O half of importing a containers/image policy.json: the file and the
 * key files its `signedBy` and `sigstoreSigned` requirements name, read with the capped
 * reader, then handed to the pure converter (containers-policy.ts).
 * containers/image opens a relative keyPath from the working directory, as
 * this does; the policy names each file relative to the directory it will be
 * written to (absent: by absolute path), as the loader reads it.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { invalid } from '../../core/errors.ts';
import {
  MAX_POLICY_BYTES,
  parseContainersPolicy,
} from '../../formats/containers-policy/policy-json.ts';
import { readFileCapped } from '../../simple-signing/files.ts';
import { importContainersPolicy, type KeyFile, keyPathsOf } from './containers-policy.ts';
import type { ImportResult } from './result.ts';

export interface ContainersPolicyImportOptions {
  /** The directory the imported policy will be written to; absent, keys are named by absolute path. */
  readonly policyDir?: string;
}

/**
 * Reads the policy.json at `path` and its key files and converts them. Throws
 * `invalid` CONTAINERS_POLICY_INVALID for a file containers/image would
 * refuse, POLICY_IMPORT_INVALID for an unreadable file, and PolicyError
 * (`invalid` POLICY_IMPORT_REFUSED) for what has no equivalent.
 */
export async function importContainersPolicyFiles(
  path: string,
  options: ContainersPolicyImportOptions = {},
): Promise<ImportResult> {
  const policy = parseContainersPolicy(await readOrFail(path), path);
  const keyFiles = new Map<string, KeyFile>();
  for (const keyPath of keyPathsOf(policy)) {
    keyFiles.set(keyPath, {
      path: written(keyPath, options.policyDir),
      bytes: await readOrFail(keyPath),
    });
  }
  return importContainersPolicy(policy, path, keyFiles);
}

async function readOrFail(path: string): Promise<Uint8Array> {
  const bytes = await readFileCapped(path, MAX_POLICY_BYTES, {
    tooLarge: (size) =>
      invalid(
        'POLICY_IMPORT_INVALID',
        `${path} is larger than ${MAX_POLICY_BYTES} bytes (${size})`,
      ),
    unreadable: (problem, cause) =>
      invalid('POLICY_IMPORT_INVALID', `${path} ${problem}`, { cause }),
  });
  if (bytes === undefined) throw invalid('POLICY_IMPORT_INVALID', `${path} does not exist`);
  return bytes;
}

function written(path: string, policyDir: string | undefined): string {
  const absolute = resolve(path);
  if (policyDir === undefined) return absolute;
  const relativePath = relative(resolve(policyDir), absolute);
  return relativePath === '' || isAbsolute(relativePath) ? absolute : relativePath;
}
