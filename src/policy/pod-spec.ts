/**
 * Where Kubernetes workloads keep the images they run: the pod spec of each
 * workload kind (the kinds policy-controller, Kyverno and Connaisseur
 * handle, docs/formats.md "Kubernetes admission"), its container lists, and image
 * volumes (`volumes[].image.reference`, Kubernetes ≥ 1.31: the kubelet
 * pulls them like containers, and policy-controller checks them too). One
 * table for both readers: `vouch policy check` (manifests as YAML,
 * workloads.ts) and the admission webhook (objects as JSON,
 * admission/containers.ts).
 */

/** The path to the pod spec in an object of each workload kind. */
export const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** The kinds that hold a pod spec. */
export const WORKLOAD_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

/** The pod spec's lists of containers, each with an `image`, in the order they run. */
export const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Inside the pod spec: `volumes[i]` holds an image at `image.reference`. */
export const IMAGE_VOLUME_PATH = ['image', 'reference'] as const;
