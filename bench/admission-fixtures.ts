/**
 * What the admission benches send and serve, in one place: the
 * AdmissionReview (one Pod, one container, the image by tag) and the policy
 * (verify one key's signature, pin the digest), so the latency, allocation
 * and handler figures are about the same review under the same policy.
 */

/** An AdmissionReview v1 for one Pod `name` in namespace `bench` running `image`. */
export function podReview(image: string, uid: string, name: string): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name,
      namespace: 'bench',
      operation: 'CREATE',
      userInfo: { username: 'bench' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'bench' },
        spec: { containers: [{ name: 'app', image }] },
      },
    },
  });
}

/** An ImagePolicy: images under `<host>/bench/` need a signature by the key in release.pub, and are pinned. */
export function keyPolicy(host: string): string {
  return `apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
authorities:
  release:
    key: { file: release.pub }
rules:
  - name: signed
    images: ["${host}/bench/**"]
    authorities: [release]
    mutateDigest: true
`;
}
