/**
 * The webhook as one piece: the policy (loaded, then watched), the verifier
 * with its caches, the metrics and the HTTPS server, started together and
 * stopped together. `vouch admission serve` is this plus flags.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { invalid, messageOf } from '../core/errors.ts';
import type { GatherPolicyOptions } from '../policy/gather.ts';
import { watchFiles } from './file-watch.ts';
import { AdmissionHandler, DEFAULT_DEADLINE_MS } from './handler.ts';
import type { AdmissionLog } from './log.ts';
import { AdmissionMetrics, Gauge } from './metrics.ts';
import { PolicyWatch } from './policy-watch.ts';
import type { FailurePolicy } from './respond.ts';
import { ImageVerifier, type VerifierOptions } from './verifier.ts';

export interface AdmissionWebhookOptions {
  readonly policyFile: string;
  /**
   * PEM files of the serving certificate (chain) and its key; read at start
   * and again when they change (a renewed Secret), without a restart.
   */
  readonly tls: { readonly certFile: string; readonly keyFile: string };
  /** 0.0.0.0 unless given. */
  readonly host?: string;
  /** 8443 unless given; 0 picks a free port. */
  readonly port?: number;
  readonly gather: Omit<GatherPolicyOptions, 'concurrency'>;
  readonly log: AdmissionLog;
  readonly failurePolicy?: FailurePolicy;
  readonly deadlineMs?: number;
  readonly maxBodyBytes?: number;
  readonly cache?: Omit<VerifierOptions, 'gather' | 'metrics'>;
  /** Quiet time after a policy file change before reloading. */
  readonly reloadDebounceMs?: number;
}

export interface RunningAdmissionWebhook {
  readonly host: string;
  readonly port: number;
  readonly metrics: AdmissionMetrics;
  readonly policy: PolicyWatch;
  /** Requests being answered now. */
  readonly inFlight: number;
  /**
   * Graceful shutdown (what SIGTERM asks of a pod): stops accepting
   * connections at once, reports not ready on `/readyz`, lets the reviews
   * in flight finish and closes each connection after its answer; after
   * `graceMs` (default: the deadline plus a second, by when every review has
   * its answer) cuts what is left. Stops watching files, closes the registry
   * clients. Calling it again returns the same promise.
   */
  close(graceMs?: number): Promise<void>;
}

/** Loads the policy (throws PolicyError if it does not load) and starts serving. */
export async function startAdmissionWebhook(
  options: AdmissionWebhookOptions,
): Promise<RunningAdmissionWebhook> {
  const metrics = new AdmissionMetrics();
  const verifier = new ImageVerifier({ ...options.cache, gather: options.gather, metrics });
  const policy = await PolicyWatch.start(options.policyFile, {
    log: options.log,
    ...(options.reloadDebounceMs === undefined ? {} : { debounceMs: options.reloadDebounceMs }),
    onReload: (result) => {
      metrics.reloads.inc({ result: 'loaded' in result ? 'loaded' : 'failed' });
      if ('loaded' in result) verifier.clearVerifications();
    },
  });
  metrics.addGauge(
    new Gauge('vouch_admission_cache_entries', 'Entries in each cache.', () => [
      { labels: { cache: 'verification' }, value: verifier.cacheSizes.verification },
      { labels: { cache: 'tag' }, value: verifier.cacheSizes.tag },
    ]),
  );
  metrics.addGauge(
    new Gauge('vouch_admission_policy_info', 'The policy in use (value 1), by revision.', () => [
      { labels: { revision: policy.current.policy.revision }, value: 1 },
    ]),
  );
  metrics.addGauge(
    new Gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => [
      { labels: {}, value: process.memoryUsage.rss() },
    ]),
  );
  const handler = new AdmissionHandler({
    policy,
    verifier,
    metrics,
    log: options.log,
    ...(options.failurePolicy === undefined ? {} : { failurePolicy: options.failurePolicy }),
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
  });
  const server = createServer(
    { ...(await readTls(options.tls)), minVersion: 'TLSv1.2' },
    handler.listener,
  );
  const tlsWatch = watchFiles(
    [options.tls.certFile, options.tls.keyFile],
    () => {
      readTls(options.tls)
        .then((pair) => {
          // Throws for a key that does not match the certificate: the old pair stays.
          server.setSecureContext({ ...pair, minVersion: 'TLSv1.2' });
          options.log({ level: 'info', msg: 'serving certificate reloaded' });
        })
        .catch((error: unknown) =>
          options.log({
            level: 'error',
            msg: 'serving certificate reload failed; still serving the previous one',
            error: messageOf(error),
          }),
        );
    },
    {
      debounceMs: options.reloadDebounceMs ?? 250,
      onError: (error) =>
        options.log({ level: 'error', msg: 'certificate watch failed', error: messageOf(error) }),
    },
  );
  // Slow clients cannot hold a request open past the API server's own 30 s maximum.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  try {
    await listen(server, options.host ?? '0.0.0.0', options.port ?? 8443);
  } catch (error) {
    policy.close();
    tlsWatch.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  options.log({
    level: 'info',
    msg: 'listening',
    host: address.address,
    port: address.port,
    policy: options.policyFile,
    revision: policy.current.policy.revision,
    failurePolicy: options.failurePolicy ?? 'fail',
  });
  let closing: Promise<void> | undefined;
  return {
    host: address.address,
    port: address.port,
    metrics,
    policy,
    get inFlight() {
      return handler.inFlight;
    },
    close(graceMs = (options.deadlineMs ?? DEFAULT_DEADLINE_MS) + 1_000) {
      closing ??= (async () => {
        handler.drain();
        policy.close();
        tlsWatch.close();
        // Stop listening; idle keep-alive connections close now, busy ones
        // after their answer (drain()); `closed` resolves when none is left.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearTimeout(timer);
        await options.gather.stores.close().catch((error: unknown) =>
          options.log({
            level: 'warn',
            msg: 'closing registry clients failed',
            error: messageOf(error),
          }),
        );
      })();
      return closing;
    },
  };
}

async function readTls(files: {
  readonly certFile: string;
  readonly keyFile: string;
}): Promise<{ cert: string; key: string }> {
  try {
    const [cert, key] = await Promise.all([
      readFile(files.certFile, 'utf8'),
      readFile(files.keyFile, 'utf8'),
    ]);
    return { cert, key };
  } catch (error) {
    throw invalid(
      'TLS_UNREADABLE',
      `cannot read the serving certificate or key: ${messageOf(error)}`,
    );
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
