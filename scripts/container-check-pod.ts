/**
 * The pod that `vouch admission manifests` describes, as the kubelet would
 * start it, for scripts/container-check.sh: reads the manifests, writes each
 * volume of the Deployment's pod under OUTDIR (ConfigMap items and Secret
 * keys as files, an emptyDir as an empty world-writable directory, as the
 * kubelet makes it) and prints, one per line, what the container runs with:
 *
 *   user UID:GID            runAsUser (runAsGroup, else the same)
 *   readonly true|false     readOnlyRootFilesystem
 *   mount HOSTDIR PATH ro|rw
 *   env NAME=VALUE
 *   arg VALUE
 *
 * Usage: node scripts/container-check-pod.ts MANIFESTS.yaml OUTDIR
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

interface Resource {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly data?: Record<string, string>;
  readonly stringData?: Record<string, string>;
  readonly spec?: { readonly template: { readonly spec: PodSpec } };
}

interface PodSpec {
  readonly securityContext?: { readonly runAsUser?: number; readonly runAsGroup?: number };
  readonly containers: readonly Container[];
  readonly volumes?: readonly Volume[];
}

interface Container {
  readonly args?: readonly string[];
  readonly env?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  readonly securityContext?: { readonly readOnlyRootFilesystem?: boolean };
  readonly volumeMounts?: ReadonlyArray<{
    readonly name: string;
    readonly mountPath: string;
    readonly readOnly?: boolean;
  }>;
}

interface Volume {
  readonly name: string;
  readonly configMap?: {
    readonly name: string;
    readonly items?: ReadonlyArray<{ key: string; path: string }>;
  };
  readonly secret?: { readonly secretName: string };
  readonly emptyDir?: object;
}

const [manifestsFile, outDir] = process.argv.slice(2);
if (manifestsFile === undefined || outDir === undefined) {
  throw new Error('usage: container-check-pod.ts MANIFESTS.yaml OUTDIR');
}
const resources = parseAllDocuments(await readFile(manifestsFile, 'utf8')).map(
  (document) => document.toJS() as Resource,
);
const find = (kind: string, name?: string): Resource => {
  const found = resources.find(
    (r) => r.kind === kind && (name === undefined || r.metadata.name === name),
  );
  if (found === undefined) throw new Error(`the manifests hold no ${kind} ${name ?? ''}`);
  return found;
};

const pod = find('Deployment').spec?.template.spec;
const container = pod?.containers[0];
if (pod === undefined || container === undefined || pod.containers.length !== 1) {
  throw new Error('expected a Deployment with one container');
}

/** Writes `files` (relative path → content) under `dir`. */
async function writeFiles(dir: string, files: ReadonlyArray<[string, string]>): Promise<void> {
  for (const [path, content] of files) {
    const file = join(dir, path);
    if (!file.startsWith(`${dir}/`)) throw new Error(`${path} leaves the volume`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

const lines: string[] = [];
const uid = pod.securityContext?.runAsUser;
if (uid === undefined) throw new Error('the pod sets no runAsUser');
lines.push(`user ${uid}:${pod.securityContext?.runAsGroup ?? uid}`);
lines.push(`readonly ${container.securityContext?.readOnlyRootFilesystem === true}`);
for (const mount of container.volumeMounts ?? []) {
  const volume = pod.volumes?.find((v) => v.name === mount.name);
  const dir = join(outDir, mount.name);
  await mkdir(dir, { recursive: true });
  if (volume?.configMap !== undefined) {
    const data = find('ConfigMap', volume.configMap.name).data ?? {};
    const items = volume.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    await writeFiles(
      dir,
      items.map(({ key, path }) => {
        const content = data[key];
        if (content === undefined) throw new Error(`the ConfigMap has no ${key}`);
        return [path, content];
      }),
    );
  } else if (volume?.secret !== undefined) {
    const secret = find('Secret', volume.secret.secretName);
    await writeFiles(dir, [
      ...Object.entries(secret.stringData ?? {}),
      ...Object.entries(secret.data ?? {}).map(([key, value]): [string, string] => [
        key,
        Buffer.from(value, 'base64').toString(),
      ]),
    ]);
  } else if (volume?.emptyDir !== undefined) {
    await chmod(dir, 0o777);
  } else {
    throw new Error(`volume ${mount.name}: only configMap, secret and emptyDir are laid out here`);
  }
  // configMap and secret volumes are read-only whatever the mount says.
  const readOnly = mount.readOnly === true || volume.emptyDir === undefined;
  lines.push(`mount ${dir} ${mount.mountPath} ${readOnly ? 'ro' : 'rw'}`);
}
for (const { name, value } of container.env ?? []) lines.push(`env ${name}=${value}`);
for (const arg of container.args ?? []) lines.push(`arg ${arg}`);
process.stdout.write(`${lines.join('\n')}\n`);
