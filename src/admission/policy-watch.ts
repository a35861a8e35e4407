/**
 * The policy the webhook serves, reloaded when its file changes, without a
 * restart (its directory is watched, file-watch.ts). After a change the
 * file is loaded like at start-up; a policy that does not load is never
 * served — the previous one stays and the error is logged.
 */
import { createHash } from 'node:crypto';
import { messageOf } from '../core/errors.ts';
import { loadPolicyFile } from '../policy/load.ts';
import type { CompiledPolicy } from '../policy/types.ts';
import { type FileWatch, watchFiles } from './file-watch.ts';
import type { AdmissionLog } from './log.ts';

/** A compiled policy and the version caches are keyed by. */
export interface ServedPolicy {
  readonly policy: CompiledPolicy;
  /**
   * The policy's revision (sha256 of its document) combined with the keys it
   * loaded from files: replacing a key file changes what verifies without
   * changing the document, and must not leave old verifications in use.
   */
  readonly version: string;
}

export function servedPolicy(policy: CompiledPolicy): ServedPolicy {
  const hash = createHash('sha256').update(policy.revision);
  for (const authority of policy.authorities.values()) {
    hash.update(`\n${authority.name}`);
    if (authority.kind === 'key') {
      for (const key of authority.keys) hash.update(key.export({ format: 'der', type: 'spki' }));
    } else if (authority.kind === 'notary') {
      hash.update(authority.rootKeyIds.join(','));
    }
  }
  return { policy, version: hash.digest('hex') };
}

export interface PolicyWatchOptions {
  readonly log: AdmissionLog;
  /** Called after a new revision is in use (and after a failed reload, with the error). */
  readonly onReload?: (result: { loaded: ServedPolicy } | { failed: unknown }) => void;
  /** Quiet time after the last change before reloading; 250 ms unless given. */
  readonly debounceMs?: number;
}

export class PolicyWatch {
  readonly #path: string;
  readonly #options: PolicyWatchOptions;
  #current: ServedPolicy;
  #watch: FileWatch | undefined;
  #loading: Promise<void> = Promise.resolve();

  private constructor(path: string, policy: CompiledPolicy, options: PolicyWatchOptions) {
    this.#path = path;
    this.#current = servedPolicy(policy);
    this.#options = options;
  }

  /** Loads the policy (throwing PolicyError when it does not load) and starts watching it. */
  static async start(path: string, options: PolicyWatchOptions): Promise<PolicyWatch> {
    const policy = await loadPolicyFile(path);
    const source = new PolicyWatch(path, policy, options);
    source.#watch = watchFiles([path], () => void source.reload(), {
      debounceMs: options.debounceMs ?? 250,
      onError: (error) =>
        options.log({ level: 'error', msg: 'policy watch failed', error: messageOf(error) }),
    });
    return source;
  }

  get current(): ServedPolicy {
    return this.#current;
  }

  /** Loads the file now (also what a change triggers); resolves once done. */
  reload(): Promise<void> {
    this.#loading = this.#loading.then(() => this.#load());
    return this.#loading;
  }

  close(): void {
    this.#watch?.close();
    this.#watch = undefined;
  }

  async #load(): Promise<void> {
    let served: ServedPolicy;
    try {
      served = servedPolicy(await loadPolicyFile(this.#path));
    } catch (error) {
      this.#options.log({
        level: 'error',
        msg: 'policy reload failed; still serving the previous policy',
        policy: this.#path,
        revision: this.#current.policy.revision,
        error: messageOf(error),
      });
      this.#options.onReload?.({ failed: error });
      return;
    }
    // Any write in the directory wakes the watch; only a new policy or key is a reload.
    if (served.version === this.#current.version) return;
    const previous = this.#current.policy.revision;
    this.#current = served;
    this.#options.log({
      level: 'info',
      msg: 'policy reloaded',
      policy: this.#path,
      revision: served.policy.revision,
      previous,
    });
    this.#options.onReload?.({ loaded: served });
  }
}
