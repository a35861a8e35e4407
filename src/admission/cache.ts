/**
 * The two primitives the webhook's speed rests on (docs/formats.md
 * "Kubernetes admission": the same image verified again and again is the field's main latency
 * problem — kyverno#16657, #16997, policy-controller's NoCache):
 *
 * - `TtlLru`: a map bounded in entries (least recently used evicted first)
 *   whose entries expire after their own time to live;
 * - `SingleFlight`: concurrent callers asking for the same key share the one
 *   promise in flight instead of each starting the work.
 */

export class TtlLru<K, V> {
  readonly #maxEntries: number;
  readonly #now: () => number;
  // A Map iterates in insertion order: re-inserting on every hit keeps the
  // least recently used entry first, so eviction is O(1).
  readonly #entries = new Map<K, { readonly value: V; readonly expires: number }>();

  constructor(options: { readonly maxEntries: number; readonly now?: () => number }) {
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, not ${options.maxEntries}`);
    }
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live value for `key`, marked as most recently used; undefined when absent or expired. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expires <= this.#now()) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` for `ttlMs` milliseconds, evicting the least recently used entry when full. */
  set(key: K, value: V, ttlMs: number): void {
    if (!(ttlMs > 0)) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.#now() + ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}

export class SingleFlight<K, V> {
  readonly #inFlight = new Map<K, Promise<V>>();

  get size(): number {
    return this.#inFlight.size;
  }

  /**
   * `work()`'s promise, or the promise of the call for `key` already in
   * flight (`shared: true`). The key is forgotten once the promise settles,
   * so a failure is not remembered.
   */
  run(key: K, work: () => Promise<V>): { readonly promise: Promise<V>; readonly shared: boolean } {
    const running = this.#inFlight.get(key);
    if (running !== undefined) return { promise: running, shared: true };
    const promise = Promise.resolve()
      .then(work)
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, promise);
    return { promise, shared: false };
  }
}
