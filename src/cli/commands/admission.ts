import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { invalid, messageOf } from '../../core/errors.ts';
import type { GatherPolicyOptions } from '../../policy/gather.ts';
import { type LogEntry, logLine } from '../../admission/log.ts';
import { BatchedLines } from '../batched-lines.ts';
import type { CliIO } from '../io.ts';
import type { Command } from '../main.ts';
import { cliContext } from '../context.ts';
import { parseCommand } from '../flags.ts';
import { REGISTRIES_D_FLAGS, simpleSigningStores } from '../registries-d-options.ts';
import { integerFlag, parseFlags, SERVER_REGISTRY_FLAGS, TRUST_DIR_FLAGS } from '../options.ts';

const FAILURE_POLICY_HELP = `--failure-policy fail (default) denies an image that could not be verified
(registry down, rate limited, deadline passed); ignore admits it with a warning
and an audit annotation. Images the policy denies are denied either way.`;

export const command: Command = {
  summary: 'Run the Kubernetes admission webhook, or print what installs it',
  help: `Usage: vouch admission serve --policy FILE --tls-cert PEM --tls-key PEM [OPTIONS]
       vouch admission manifests --policy FILE --ca-file CA [OPTIONS]
       vouch admission cert --dns NAME [--dns NAME]... --out-dir DIR [--days N]

serve       Serves AdmissionReview v1 over HTTPS: POST /validate (validating)
            and POST /mutate (mutating: pins admitted tags to repo:tag@digest
            where the rule says mutateDigest), for Pods (and their
            ephemeralcontainers), Deployments, ReplicaSets, StatefulSets,
            DaemonSets, Jobs, CronJobs and ReplicationControllers, init and
            ephemeral containers included. Each distinct image is verified
            once; concurrent requests share verifications in flight;
            verifications are cached by (digest, policy) and tags' digests
            briefly. The policy file is reloaded when it changes; a policy
            that does not load is never used (the previous one stays); so
            are the certificate and key (a renewed Secret needs no restart).
            GET /healthz, /readyz and /metrics (Prometheus). One JSON log
            line per decision on stdout (written in batches, within 50 ms).
            On SIGTERM or SIGINT it stops accepting connections, answers
            /readyz 503, lets the reviews in flight finish (each answers
            within the deadline) and exits 0; a second signal stops it at
            once (after writing the queued log lines).
manifests   Prints the YAML to apply: Namespace, ServiceAccount, ConfigMap
            (the policy and the key files it names), Deployment (2 replicas),
            PodDisruptionBudget, Service, and the Validating and Mutating
            WebhookConfigurations with the CA bundle.
cert        Creates a CA (ca.crt, ca.key) and a serving certificate signed by
            it (tls.crt, tls.key) for the names given, with openssl.

Serve options:
      --policy FILE           the policy (required)
      --tls-cert FILE         PEM serving certificate (required)
      --tls-key FILE          PEM key of the certificate (required)
      --listen ADDR           HOST:PORT to listen on (default 0.0.0.0:8443; port 0: any)
      --failure-policy P      fail (default) or ignore
      --deadline SECONDS      answer within this time (default 8; keep it under the
                              webhook's timeoutSeconds, 10 by default)
      --cache-size N          verifications and tags kept (default 10000)
      --cache-ttl SECONDS     how long a verification that passed is kept (default 600)
      --tag-ttl SECONDS       how long a tag's digest is kept (default 30; 0: never);
                              a tag still asked about is resolved again before then
      --trust-dir DIR         Docker Content Trust metadata cache (default ~/.vouch/trust)
      --offline               never fetch Sigstore trust material
${REGISTRIES_D_FLAGS.help} (gpg authorities; read at startup)
${FAILURE_POLICY_HELP}

Manifests options:
      --policy FILE           the policy to put in the ConfigMap (required)
      --ca-file FILE          PEM CA of the serving certificate, for caBundle (required)
  -n, --namespace NS          the webhook's namespace (default vouch-system)
      --image IMAGE           the vouch image to run (default vouch:0.1.0)
      --tls-cert FILE         also print a Secret with this certificate...
      --tls-key FILE          ...and key (else: kubectl create secret tls vouch-admission-tls)
      --failure-policy P      fail (default) or ignore
      --timeout-seconds N     the API server's timeout per call, 2-30 (default 10)
      --replicas N            replicas of the webhook (default 2)

Cert options:
      --dns NAME              a DNS name or IP address for the certificate; repeatable
                              (the Service's is vouch-admission.NAMESPACE.svc)
      --out-dir DIR           where to write ca.crt, ca.key, tls.crt, tls.key
      --days N                validity of the serving certificate (default 365)

${SERVER_REGISTRY_FLAGS.help}`,

  async run(args: readonly string[], io: CliIO): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'serve') return serve(rest, io);
    if (sub === 'manifests') return manifests(rest, io);
    if (sub === 'cert') return cert(rest, io);
    throw invalid(
      'USAGE',
      `vouch admission needs serve, manifests or cert, not ${JSON.stringify(sub ?? '')}`,
    );
  },
};

function failurePolicyFlag(value: string | undefined): 'fail' | 'ignore' {
  if (value === undefined || value === 'fail') return 'fail';
  if (value === 'ignore') return 'ignore';
  throw invalid('USAGE', `--failure-policy must be fail or ignore, not "${value}"`);
}

/** Seconds, decimals allowed, within [min, max]. */
function secondsFlag(name: string, value: string | undefined, min: number, max: number) {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || seconds < min || seconds > max) {
    throw invalid(
      'USAGE',
      `--${name} must be a number of seconds from ${min} to ${max}, not "${value}"`,
    );
  }
  return seconds;
}

/** `HOST:PORT`, `[V6]:PORT` or `:PORT`. */
function listenFlag(value: string | undefined): { host: string; port: number } {
  if (value === undefined) return { host: '0.0.0.0', port: 8443 };
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):([0-9]{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) {
    throw invalid('USAGE', `--listen takes HOST:PORT, not "${value}"`);
  }
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

async function readText(flag: string, path: string | undefined): Promise<string> {
  if (path === undefined) throw invalid('USAGE', `--${flag} FILE is required`);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw invalid('FILE_UNREADABLE', `cannot read --${flag} ${path}: ${messageOf(error)}`);
  }
}

async function readBytes(flag: string, path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw invalid('FILE_UNREADABLE', `cannot read --${flag} ${path}: ${messageOf(error)}`);
  }
}

const SERVE_FLAGS = {
  registry: SERVER_REGISTRY_FLAGS,
  trustDir: TRUST_DIR_FLAGS,
  registriesD: REGISTRIES_D_FLAGS,
};

const SERVE_OPTIONS = {
  policy: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  listen: { type: 'string' },
  'failure-policy': { type: 'string' },
  deadline: { type: 'string' },
  'cache-size': { type: 'string' },
  'cache-ttl': { type: 'string' },
  'tag-ttl': { type: 'string' },
  offline: { type: 'boolean', default: false },
} as const;

async function serve(args: readonly string[], io: CliIO): Promise<number> {
  const { values, settings } = await parseCommand(args, io, SERVE_FLAGS, SERVE_OPTIONS, false);
  if (values.policy === undefined)
    throw invalid('USAGE', 'vouch admission serve needs --policy FILE');
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if (certFile === undefined || keyFile === undefined) {
    throw invalid('USAGE', 'vouch admission serve needs --tls-cert FILE and --tls-key FILE');
  }
  const { host, port } = listenFlag(values.listen);
  const failurePolicy = failurePolicyFlag(values['failure-policy']);
  const deadlineMs = (secondsFlag('deadline', values.deadline, 0.1, 29) ?? 8) * 1000;
  const maxEntries = integerFlag('cache-size', values['cache-size'], 1, 10_000_000) ?? 10_000;
  const ttlMs = (secondsFlag('cache-ttl', values['cache-ttl'], 0, 86_400) ?? 600) * 1000;
  const tagTtlMs = (secondsFlag('tag-ttl', values['tag-ttl'], 0, 3600) ?? 30) * 1000;

  // No deadline for the whole run: a server bounds each request it answers.
  const context = cliContext(io, {
    registry: settings.registry,
    workload: 'sustained',
    trustDir: settings.trustDir,
    offline: values.offline,
    http: (base) => ({
      ...base,
      // A registry slower than the deadline cannot help this request, nor can
      // one that drips its answer: each request, retries included, ends by the
      // deadline, so no verification outlives the reviews waiting on it for
      // long. A Retry-After longer than a quarter of it fails over to the
      // failure policy.
      requestTimeoutMs: Math.min(base.requestTimeoutMs ?? Infinity, deadlineMs),
      bodyTimeoutMs: deadlineMs,
      connectTimeoutMs: Math.min(deadlineMs, 5_000),
      maxRetryAfterMs: deadlineMs / 4,
    }),
  });
  // The notary servers' code is loaded now, off the first review's path.
  // registries.d too: a reloaded policy may gain gpg authorities.
  const [notaryServer, trustStore, gpg] = await Promise.all([
    context.notaryServers(),
    context.notaryMetadata(),
    simpleSigningStores(context, settings.registriesD),
  ]);
  // Keyless trust is built once per authority of each loaded policy (a
  // reload compiles new authority objects), not once per image.
  const gather: Omit<GatherPolicyOptions, 'concurrency'> = {
    stores: context.stores,
    loadTlogs: () => context.tlogs(),
    keylessTrust: (authority) => context.keylessTrust(authority),
    notary: {
      trustStore,
      server: (authority, registry) => notaryServer(authority.server, registry),
    },
    gpg,
    // Revocation answers for notation authorities; OCSP and CRL requests have their own timeouts.
    notation: {
      revocation: {
        http: await context.http(),
        cacheDir: join(context.dirs.cache, 'notation-revocation'),
      },
    },
  };
  // Written in batches, off the request path (batched-lines.ts), and all
  // written before the process ends, however it ends short of SIGKILL.
  const lines = new BatchedLines(io.stdout);
  const stopFlushingOnExit = lines.flushOnExit();
  const log = (entry: LogEntry) => lines.write(logLine(entry, new Date()));
  // A second signal stops the process at once: the queued lines are written,
  // then the signal is raised again with no listener left, so Node's default
  // action ends the process (no 'exit' event then).
  const stopNow = (signal: NodeJS.Signals) => {
    lines.flush();
    process.off('SIGTERM', stopNow);
    process.off('SIGINT', stopNow);
    process.kill(process.pid, signal);
  };
  try {
    const { startAdmissionWebhook } = await import('../../admission/server.ts');
    const webhook = await startAdmissionWebhook({
      policyFile: values.policy,
      tls: { certFile, keyFile },
      host,
      port,
      gather,
      log,
      failurePolicy,
      deadlineMs,
      cache: { maxEntries, ttlMs, tagTtlMs, deniedTtlMs: Math.min(ttlMs, 30_000) },
    });
    const signal = await new Promise<NodeJS.Signals>((done) => {
      const stop = (signal: NodeJS.Signals) => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        process.on('SIGTERM', stopNow);
        process.on('SIGINT', stopNow);
        done(signal);
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    // Kubernetes sends SIGTERM once the pod is leaving the Service's endpoints
    // (after the preStop pause in the manifests); reviews already sent still
    // get their answer, within the deadline.
    log({ level: 'info', msg: 'shutting down', signal, inFlight: webhook.inFlight });
    await webhook.close();
    await context.close();
    log({ level: 'info', msg: 'stopped' });
  } finally {
    process.off('SIGTERM', stopNow);
    process.off('SIGINT', stopNow);
    lines.flush();
    stopFlushingOnExit();
  }
  return 0;
}

async function manifests(args: readonly string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      policy: { type: 'string' },
      'ca-file': { type: 'string' },
      namespace: { type: 'string', short: 'n', default: 'vouch-system' },
      image: { type: 'string', default: 'vouch:0.1.0' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'failure-policy': { type: 'string' },
      'timeout-seconds': { type: 'string' },
      replicas: { type: 'string' },
    },
    false,
  );
  const policyPath = values.policy;
  const policy = await readText('policy', policyPath);
  const caBundle = await readText('ca-file', values['ca-file']);
  if (!caBundle.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalid('USAGE', `--ca-file ${values['ca-file']} holds no PEM certificate`);
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw invalid('USAGE', '--tls-cert and --tls-key go together');
  }
  const tls =
    values['tls-cert'] === undefined
      ? undefined
      : {
          cert: await readText('tls-cert', values['tls-cert']),
          key: await readText('tls-key', values['tls-key']),
        };
  const namespace = values.namespace ?? 'vouch-system';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw invalid('USAGE', `--namespace must be a Kubernetes namespace name, not "${namespace}"`);
  }
  // The policy must load (so a broken one is never installed); its files go in the ConfigMap.
  const [{ loadPolicyFile }, { parsePolicy }, { webhookManifests }] = await Promise.all([
    import('../../policy/load.ts'),
    import('../../policy/parse.ts'),
    import('../../admission/manifests.ts'),
  ]);
  await loadPolicyFile(policyPath as string);
  const policyFiles = new Map<string, Uint8Array>();
  for (const reference of parsePolicy(policy, policyPath).files.values()) {
    const path = isAbsolute(reference.path)
      ? reference.path
      : resolve(dirname(policyPath as string), reference.path);
    // As bytes: binary keyrings and DER certificates must reach the cluster unchanged.
    policyFiles.set(reference.path, await readBytes('policy', path));
  }
  const timeoutSeconds = integerFlag('timeout-seconds', values['timeout-seconds'], 2, 30);
  const replicas = integerFlag('replicas', values.replicas, 1, 100);
  io.stdout.write(
    webhookManifests({
      namespace,
      image: values.image ?? 'vouch:0.1.0',
      caBundle,
      policy,
      policyFiles,
      ...(tls === undefined ? {} : { tls }),
      failurePolicy: failurePolicyFlag(values['failure-policy']),
      ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
      ...(replicas === undefined ? {} : { replicas }),
    }),
  );
  return 0;
}

async function cert(args: readonly string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      dns: { type: 'string', multiple: true },
      'out-dir': { type: 'string' },
      days: { type: 'string' },
    },
    false,
  );
  const names = values.dns ?? [];
  if (names.length === 0) throw invalid('USAGE', 'vouch admission cert needs --dns NAME');
  const outDir = values['out-dir'];
  if (outDir === undefined) throw invalid('USAGE', 'vouch admission cert needs --out-dir DIR');
  const days = integerFlag('days', values.days, 1, 3650);
  const { createWebhookCertificate } = await import('../../admission/certificate.ts');
  const files = await createWebhookCertificate({
    names,
    outDir,
    ...(days === undefined ? {} : { days }),
    ...(io.env.VOUCH_OPENSSL === undefined ? {} : { openssl: io.env.VOUCH_OPENSSL }),
  });
  io.stdout.write(
    `wrote ${files.caCert} (CA: the caBundle), ${files.caKey}, ${files.cert} and ${files.key}\n`,
  );
  return 0;
}
