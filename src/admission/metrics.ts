/**
 * Prometheus metrics written by hand in the text exposition format 0.0.4
 * (prometheus/docs `content/docs/instrumenting/exposition_formats.md`):
 * `# HELP` and `# TYPE` lines, then one sample per line; histograms as
 * cumulative `_bucket{le=...}` counters with `+Inf`, `_sum` and `_count`.
 * A dependency for some counters is not worth its weight.
 */

type Labels = Readonly<Record<string, string>>;

/** The empty label set, made once. */
const NO_LABELS: Labels = Object.freeze({});

/**
 * A metric's series by key (`keyOf`), and by frozen label object: the
 * webhook increments with label sets made once (handler.ts, verifier.ts),
 * found again here by identity without building a key (issue 15:
 * allocation per review). Only frozen objects are remembered, since one
 * that can change could later name another series.
 */
class SeriesMap<S extends { readonly labels: Labels }> {
  readonly #byKey = new Map<string, S>();
  readonly #byObject = new WeakMap<Labels, S>();

  get(labels: Labels): S | undefined {
    const known = this.#byObject.get(labels);
    if (known !== undefined) return known;
    const series = this.#byKey.get(keyOf(labels));
    if (series !== undefined && Object.isFrozen(labels)) this.#byObject.set(labels, series);
    return series;
  }

  add(series: S): S {
    this.#byKey.set(keyOf(series.labels), series);
    if (Object.isFrozen(series.labels)) this.#byObject.set(series.labels, series);
    return series;
  }

  values(): IterableIterator<S> {
    return this.#byKey.values();
  }
}

/** Label values escaped as the format says: backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels, extra?: string): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/**
 * The series key of a label set: each name and value prefixed with its
 * length, so no two label sets share a key whatever they contain; names in
 * sorted order, so the order they were written in does not matter. Built on
 * every increment, so without JSON.stringify and its arrays.
 */
export function keyOf(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = '';
  for (const name of names) {
    const value = labels[name] as string;
    key += `${name.length}:${name}${value.length}:${value}`;
  }
  return key;
}

function number(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  readonly #name: string;
  readonly #help: string;
  readonly #values = new SeriesMap<{ labels: Labels; value: number }>();

  constructor(name: string, help: string) {
    this.#name = name;
    this.#help = help;
  }

  inc(labels: Labels = NO_LABELS, by = 1): void {
    const entry = this.#values.get(labels);
    if (entry === undefined) this.#values.add({ labels, value: by });
    else entry.value += by;
  }

  value(labels: Labels = NO_LABELS): number {
    return this.#values.get(labels)?.value ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.#name} ${this.#help}`, `# TYPE ${this.#name} counter`];
    for (const { labels, value } of this.#values.values()) {
      lines.push(`${this.#name}${labelText(labels)} ${number(value)}`);
    }
    return lines.join('\n');
  }
}

export class Gauge implements Metric {
  readonly #name: string;
  readonly #help: string;
  readonly #read: () => readonly { readonly labels: Labels; readonly value: number }[];

  /** A gauge read when scraped. */
  constructor(
    name: string,
    help: string,
    read: () => readonly { readonly labels: Labels; readonly value: number }[],
  ) {
    this.#name = name;
    this.#help = help;
    this.#read = read;
  }

  render(): string {
    const lines = [`# HELP ${this.#name} ${this.#help}`, `# TYPE ${this.#name} gauge`];
    for (const { labels, value } of this.#read()) {
      lines.push(`${this.#name}${labelText(labels)} ${number(value)}`);
    }
    return lines.join('\n');
  }
}

export class Histogram implements Metric {
  readonly #name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #series = new SeriesMap<{
    labels: Labels;
    counts: number[];
    sum: number;
    count: number;
  }>();

  /** `bounds`: the upper bounds of the buckets, ascending (`+Inf` is added). */
  constructor(name: string, help: string, bounds: readonly number[]) {
    this.#name = name;
    this.#help = help;
    this.#bounds = bounds;
  }

  observe(value: number, labels: Labels = NO_LABELS): void {
    const series =
      this.#series.get(labels) ??
      this.#series.add({ labels, counts: this.#bounds.map(() => 0), sum: 0, count: 0 });
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        series.counts[i] = (series.counts[i] ?? 0) + 1;
        break;
      }
    }
    series.sum += value;
    series.count += 1;
  }

  render(): string {
    const lines = [`# HELP ${this.#name} ${this.#help}`, `# TYPE ${this.#name} histogram`];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += counts[i] ?? 0;
        lines.push(
          `${this.#name}_bucket${labelText(labels, `le="${number(bound)}"`)} ${cumulative}`,
        );
      });
      lines.push(`${this.#name}_bucket${labelText(labels, 'le="+Inf"')} ${count}`);
      lines.push(`${this.#name}_sum${labelText(labels)} ${number(sum)}`);
      lines.push(`${this.#name}_count${labelText(labels)} ${count}`);
    }
    return lines.join('\n');
  }
}

/** Latency buckets in seconds: sub-millisecond cache hits up to the 10 s API server timeout. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Everything the webhook counts. */
export class AdmissionMetrics {
  /** Admission requests answered, by webhook (validate, mutate) and outcome. */
  readonly decisions = new Counter(
    'vouch_admission_decisions_total',
    'Admission requests answered, by webhook and result (allowed, warned, denied, error).',
  );
  /** Images decided, by result after the failure policy. */
  readonly images = new Counter(
    'vouch_admission_image_decisions_total',
    'Images decided, by policy result (allowed, warned, denied, unavailable).',
  );
  readonly latency = new Histogram(
    'vouch_admission_request_duration_seconds',
    'Time from receiving an admission request to answering it.',
    LATENCY_BUCKETS,
  );
  readonly cacheHits = new Counter(
    'vouch_admission_cache_hits_total',
    'Lookups answered from a cache, by cache (verification, tag).',
  );
  readonly cacheMisses = new Counter(
    'vouch_admission_cache_misses_total',
    'Lookups a cache could not answer, by cache (verification, tag).',
  );
  readonly shared = new Counter(
    'vouch_admission_inflight_shared_total',
    'Lookups that joined a verification or tag resolution already in flight.',
  );
  readonly tagRefreshes = new Counter(
    'vouch_admission_tag_refreshes_total',
    'Tags resolved again in the background, before their cached digest expired, because requests still name them.',
  );
  readonly registryErrors = new Counter(
    'vouch_admission_registry_errors_total',
    'Checks that could not be completed, by error code (NETWORK_ERROR, RATE_LIMITED, ...).',
  );
  readonly deadlines = new Counter(
    'vouch_admission_deadline_exceeded_total',
    'Admission requests answered by the deadline before every image was decided.',
  );
  readonly reloads = new Counter(
    'vouch_admission_policy_reloads_total',
    'Policy reloads after the file changed, by result (loaded, failed).',
  );
  readonly #extra: Metric[] = [];

  /** Adds a gauge read at scrape time (cache sizes, policy revision). */
  addGauge(gauge: Gauge): void {
    this.#extra.push(gauge);
  }

  render(): string {
    const all: Metric[] = [
      this.decisions,
      this.images,
      this.latency,
      this.cacheHits,
      this.cacheMisses,
      this.shared,
      this.tagRefreshes,
      this.registryErrors,
      this.deadlines,
      this.reloads,
      ...this.#extra,
    ];
    return `${all.map((metric) => metric.render()).join('\n')}\n`;
  }
}
