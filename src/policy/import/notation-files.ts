/**
 * The I/O half of importing a notation trust policy: the trust policy file
 * and the trust stores it names, read by src/notation/ exactly as `vouch
 * notation verify` reads them (same caps, same refusals), then handed to the
 * pure converter (notation.ts).
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { loadTrustPolicyFile } from '../../notation/config.ts';
import { readTrustStoreFilesIn } from '../../notation/trust-store.ts';
import type { ImportResult } from './result.ts';
import { importNotationTrustPolicy, type StoreFile } from './notation.ts';

export interface NotationImportOptions {
  /** The directory holding `x509/{type}/{name}/` (notation's `{NOTATION_CONFIG}/truststore`). */
  readonly trustStoreDir: string;
  /**
   * The directory the imported policy will be written to: certificate files
   * are named relative to it, as the loader reads them; absent, by absolute path.
   */
  readonly policyDir?: string;
}

/**
 * Reads the trust policy at `path` and its trust stores and converts them.
 * Throws what src/notation/ throws for files notation would refuse, and
 * PolicyError (`invalid` POLICY_IMPORT_REFUSED) for what has no equivalent.
 */
export async function importNotationFiles(
  path: string,
  options: NotationImportOptions,
): Promise<ImportResult> {
  const { policy } = await loadTrustPolicyFile(path);
  const stores = new Map<string, StoreFile[]>();
  for (const statement of policy.trustPolicies) {
    for (const store of statement.trustStores) {
      const key = `${store.type}:${store.name}`;
      if (stores.has(key)) continue;
      const files = await readTrustStoreFilesIn(options.trustStoreDir, store);
      stores.set(
        key,
        files.map((file) => ({ path: written(file.path, options.policyDir), bytes: file.bytes })),
      );
    }
  }
  return importNotationTrustPolicy(policy, path, stores);
}

function written(path: string, policyDir: string | undefined): string {
  const absolute = resolve(path);
  if (policyDir === undefined) return absolute;
  const relativePath = relative(resolve(policyDir), absolute);
  return relativePath === '' || isAbsolute(relativePath) ? absolute : relativePath;
}
