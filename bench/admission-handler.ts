/**
 * Bytes allocated per AdmissionReview by the webhook's request handler on a
 * cache hit (issue 15: about 35 KB, to be halved): the handler's listener
 * driven with in-memory requests and a verifier that answers at once, the log
 * lines formatted as `vouch admission serve` formats them, no sockets, no TLS.
 *
 * Run with `node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 bench/admission-handler.ts`:
 * each round collects garbage, sends BENCH_REQUESTS (1,000) reviews one after
 * another, and reads the heap growth; a round during which any garbage
 * collection ran is discarded (a young-generation collection would hide
 * allocations), so the semi-space must hold a round. The same rounds without
 * the handler (the fake request and response alone) give the baseline that is
 * subtracted. Knobs: BENCH_ROUNDS (7), BENCH_REQUESTS. Last line: JSON.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdmissionHandler } from '../src/admission/handler.ts';
import { logLine } from '../src/admission/log.ts';
import { AdmissionMetrics } from '../src/admission/metrics.ts';
import { servedPolicy } from '../src/admission/policy-watch.ts';
import type { ImageVerifier } from '../src/admission/verifier.ts';
import { compilePolicy } from '../src/policy/compile.ts';
import type { ImageDecision } from '../src/policy/evaluate.ts';
import { parsePolicy } from '../src/policy/parse.ts';
import { podReview } from './admission-fixtures.ts';
import { knob, median, printFigures } from './common.ts';

const ROUNDS = knob('BENCH_ROUNDS', 7);
const REQUESTS = knob('BENCH_REQUESTS', 1000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const IMAGE = '127.0.0.1:5000/bench/app:v1';
const BODY = Buffer.from(podReview(IMAGE, 'bench-1', 'pod-1'));
const DECISION: ImageDecision = {
  image: IMAGE,
  digest: `sha256:${'a'.repeat(64)}`,
  rule: 'signed',
  mode: 'enforce',
  result: 'allowed',
  passed: true,
  reason: 'rule signed: verified by release',
  threshold: 1,
  verified: 1,
  authorities: [],
  attestations: [],
} as unknown as ImageDecision;

const policy = servedPolicy(
  compilePolicy(
    parsePolicy(
      'apiVersion: vouch.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: all\n    images: ["**"]\n    action: allow\n',
      'policy.yaml',
    ),
    new Map(),
  ),
);
let logged = 0;
const handler = new AdmissionHandler({
  policy: { current: policy },
  verifier: { decide: () => Promise.resolve(DECISION) } as unknown as ImageVerifier,
  metrics: new AdmissionMetrics(),
  // As `vouch admission serve` formats each line (src/cli/commands/admission.ts).
  log: (entry) => {
    logged += logLine(entry, new Date()).length;
  },
});

/** One request through `listener` (or, without it, the fakes alone); resolves when answered. */
function send(listener: AdmissionHandler['listener'] | undefined): Promise<void> {
  return new Promise((resolve) => {
    const req = Readable.from([BODY], { objectMode: false }) as unknown as IncomingMessage;
    Object.assign(req, {
      method: 'POST',
      url: '/validate?timeout=10s',
      headers: { 'content-type': 'application/json', 'content-length': String(BODY.length) },
    });
    const res = {
      headersSent: false,
      statusCode: 0,
      once: () => res,
      setHeader: () => res,
      writeHead: (status: number) => {
        res.statusCode = status;
        res.headersSent = true;
        return res;
      },
      end: () => {
        if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
        resolve();
      },
      destroy: () => resolve(),
    };
    if (listener === undefined) {
      req.on('data', () => undefined);
      req.once('end', () => res.writeHead(200) && res.end());
    } else listener(req, res as unknown as ServerResponse);
  });
}

let collections = 0;
new PerformanceObserver((list) => (collections += list.getEntries().length)).observe({
  entryTypes: ['gc'],
});

async function round(listener: AdmissionHandler['listener'] | undefined): Promise<number> {
  gc?.();
  // GC entries reach the observer asynchronously: let the forced one arrive first.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const before = collections;
  const start = process.memoryUsage().heapUsed;
  for (let i = 0; i < REQUESTS; i++) await send(listener);
  const grown = process.memoryUsage().heapUsed - start;
  await new Promise((resolve) => setTimeout(resolve, 20));
  return collections === before ? grown / REQUESTS : NaN;
}

for (let i = 0; i < 3; i++) {
  await round(handler.listener);
  await round(undefined);
}
const perReview: number[] = [];
const baseline: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  perReview.push(await round(handler.listener));
  baseline.push(await round(undefined));
}
const valid = (values: number[]) => values.filter((v) => !Number.isNaN(v));
const handlerBytes = median(valid(perReview)) - median(valid(baseline));
console.log(
  [
    `# Bytes allocated per AdmissionReview by the handler (cache hit), ${REQUESTS} reviews per round`,
    '',
    `rounds with the handler (bytes/review): ${perReview.map((v) => v.toFixed(0)).join(', ')}`,
    `rounds of the fakes alone (bytes/review): ${baseline.map((v) => v.toFixed(0)).join(', ')}`,
    `(NaN: a garbage collection ran in the round, discarded; ${logged} log bytes formatted)`,
    '',
    `handler: ${(handlerBytes / 1024).toFixed(1)} KiB per review (median less baseline)`,
  ].join('\n'),
);
printFigures('admission-handler', {
  bytes_per_review: handlerBytes,
  valid_rounds: valid(perReview).length,
});
