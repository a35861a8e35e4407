/**
 * What a cluster operator applies to run the webhook (pure: text in, YAML
 * out): a Namespace, a ServiceAccount, a ConfigMap holding the policy and
 * the key files it names, a Deployment of 2+ replicas spread over nodes
 * with a PodDisruptionBudget (a fail-closed webhook that is down blocks
 * every deploy) that shuts down without dropping a review (a preStop pause,
 * then the drain; server.ts), a Service, and the Validating and Mutating
 * WebhookConfigurations (`kubernetes/api@10b39a3:admissionregistration/v1/types.go`,
 * docs/formats.md "Kubernetes admission") with the CA bundle, `sideEffects: None`,
 * `admissionReviewVersions: [v1]`, and a namespaceSelector that leaves out
 * kube-system and the webhook's own namespace, so the webhook can never
 * block its own pods or the control plane's.
 */
import { stringify } from 'yaml';
import { invalid } from '../core/errors.ts';
import type { FailurePolicy } from './respond.ts';

export interface WebhookManifestOptions {
  readonly namespace: string;
  /** The vouch image to run (its entrypoint is `vouch`). */
  readonly image: string;
  /** PEM of the CA that signed the serving certificate. */
  readonly caBundle: string;
  /** The policy document as written. */
  readonly policy: string;
  /** Files the policy names (bytes as read), by the relative path it names them with. */
  readonly policyFiles: ReadonlyMap<string, Uint8Array>;
  /** The serving certificate and key, to include as a Secret; without them, create it yourself. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly failurePolicy: FailurePolicy;
  /** The API server's timeout per call; 10 unless given (the webhook's deadline is 2 s under it). */
  readonly timeoutSeconds?: number;
  readonly replicas?: number;
}

export const WEBHOOK_NAME = 'vouch-admission';
const POLICY_DIR = '/etc/vouch/policy';
const TLS_DIR = '/etc/vouch/tls';
const PORT = 8443;
/**
 * The pause before SIGTERM: a terminating pod leaves the Service's endpoints
 * asynchronously, and API servers keep sending it reviews for a few seconds;
 * the webhook stops accepting connections only once they have stopped. The
 * `sleep` action (KEP-3960, on by default since Kubernetes 1.30) needs no
 * sleep binary in the image.
 */
const PRE_STOP_SECONDS = 5;

/** The manifests as one multi-document YAML text. */
export function webhookManifests(options: WebhookManifestOptions): string {
  const { namespace } = options;
  const timeoutSeconds = options.timeoutSeconds ?? 10;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 2 || timeoutSeconds > 30) {
    throw invalid('USAGE', `timeoutSeconds must be an integer from 2 to 30, not ${timeoutSeconds}`);
  }
  const replicas = options.replicas ?? 2;
  const labels = { 'app.kubernetes.io/name': WEBHOOK_NAME };
  const metadata = { name: WEBHOOK_NAME, namespace, labels };
  const items = [{ key: 'policy.yaml', path: 'policy.yaml' }];
  const data: Record<string, string> = { 'policy.yaml': options.policy };
  const binaryData: Record<string, string> = {};
  [...options.policyFiles].forEach(([path, content], index) => {
    if (path.startsWith('/') || path.split('/').includes('..')) {
      throw invalid(
        'USAGE',
        `the policy names ${path}: in the cluster, files must be relative to the policy and inside its directory`,
      );
    }
    const key = `file-${index}`;
    // A ConfigMap's `data` holds UTF-8 strings; anything else (a binary GPG
    // keyring, a DER certificate) goes in `binaryData`, base64, unchanged.
    const text = utf8(content);
    if (text === undefined) binaryData[key] = Buffer.from(content).toString('base64');
    else data[key] = text;
    items.push({ key, path });
  });
  const documents: object[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { ...metadata, name: `${WEBHOOK_NAME}-policy` },
      data,
      ...(Object.keys(binaryData).length === 0 ? {} : { binaryData }),
    },
  ];
  if (options.tls !== undefined) {
    documents.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...metadata, name: `${WEBHOOK_NAME}-tls` },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': options.tls.cert, 'tls.key': options.tls.key },
    });
  }
  const probe = (path: string) => ({
    httpGet: { path, port: PORT, scheme: 'HTTPS' },
    periodSeconds: 10,
  });
  documents.push(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata,
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: WEBHOOK_NAME,
            // The pause, then the drain: reviews in flight answer within the
            // deadline (timeoutSeconds - 2); a few seconds spare before SIGKILL.
            terminationGracePeriodSeconds: PRE_STOP_SECONDS + timeoutSeconds + 5,
            automountServiceAccountToken: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: labels },
              },
            ],
            containers: [
              {
                name: 'webhook',
                image: options.image,
                args: [
                  'admission',
                  'serve',
                  '--policy',
                  `${POLICY_DIR}/policy.yaml`,
                  '--tls-cert',
                  `${TLS_DIR}/tls.crt`,
                  '--tls-key',
                  `${TLS_DIR}/tls.key`,
                  '--listen',
                  `0.0.0.0:${PORT}`,
                  '--failure-policy',
                  options.failurePolicy,
                  '--deadline',
                  String(timeoutSeconds - 2),
                  '--trust-dir',
                  '/var/cache/vouch/trust',
                ],
                env: [{ name: 'VOUCH_CACHE_DIR', value: '/var/cache/vouch' }],
                ports: [{ name: 'https', containerPort: PORT }],
                lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
                readinessProbe: probe('/readyz'),
                livenessProbe: probe('/healthz'),
                resources: {
                  requests: { cpu: '100m', memory: '128Mi' },
                  limits: { memory: '512Mi' },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                // The root file system is read-only; vouch writes only to the
                // cache (the trusted root's TUF cache, Docker Content Trust
                // metadata) and /tmp, where tuf-js stages each TUF download
                // (os.tmpdir(): `theupdateframework/tuf-js@510524d:packages/client/src/utils/tmpfile.ts`).
                volumeMounts: [
                  { name: 'policy', mountPath: POLICY_DIR, readOnly: true },
                  { name: 'tls', mountPath: TLS_DIR, readOnly: true },
                  { name: 'cache', mountPath: '/var/cache/vouch' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'policy', configMap: { name: `${WEBHOOK_NAME}-policy`, items } },
              { name: 'tls', secret: { secretName: `${WEBHOOK_NAME}-tls` } },
              { name: 'cache', emptyDir: {} },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata,
      spec: { minAvailable: 1, selector: { matchLabels: labels } },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata,
      spec: {
        selector: labels,
        ports: [{ name: 'https', port: 443, targetPort: PORT }],
      },
    },
    webhookConfiguration('ValidatingWebhookConfiguration', '/validate', options, timeoutSeconds),
    webhookConfiguration('MutatingWebhookConfiguration', '/mutate', options, timeoutSeconds),
  );
  return documents.map((document) => stringify(document, { lineWidth: 0 })).join('---\n');
}

/** The kinds vouch handles (containers.ts), as webhook rules. */
const RULES = [
  {
    apiGroups: [''],
    apiVersions: ['v1'],
    resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'],
  },
  {
    apiGroups: ['apps'],
    apiVersions: ['v1'],
    resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'],
  },
  { apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'] },
].map((rule) => ({ operations: ['CREATE', 'UPDATE'], ...rule, scope: 'Namespaced' }));

function webhookConfiguration(
  kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration',
  path: string,
  options: WebhookManifestOptions,
  timeoutSeconds: number,
): object {
  const name = `${kind === 'MutatingWebhookConfiguration' ? 'mutate' : 'validate'}.${WEBHOOK_NAME}.vouch.dev`;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name: WEBHOOK_NAME, labels: { 'app.kubernetes.io/name': WEBHOOK_NAME } },
    webhooks: [
      {
        name,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: options.failurePolicy === 'fail' ? 'Fail' : 'Ignore',
        matchPolicy: 'Equivalent',
        timeoutSeconds,
        namespaceSelector: {
          matchExpressions: [
            {
              key: 'kubernetes.io/metadata.name',
              operator: 'NotIn',
              values: [...new Set(['kube-system', options.namespace])],
            },
          ],
        },
        rules: RULES,
        clientConfig: {
          service: { namespace: options.namespace, name: WEBHOOK_NAME, path, port: 443 },
          caBundle: Buffer.from(options.caBundle).toString('base64'),
        },
        // The patch pins images; run again if a later webhook changes them (pinning is idempotent).
        ...(kind === 'MutatingWebhookConfiguration' ? { reinvocationPolicy: 'IfNeeded' } : {}),
      },
    ],
  };
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as text, or undefined when they are not UTF-8 (a decode and re-encode would change them). */
function utf8(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}
