/**
 * Finding every image in deployment files, with where it is written: the
 * containers, initContainers and ephemeralContainers and the image volumes
 * of Kubernetes Pods and of the pod templates of Deployment, ReplicaSet,
 * StatefulSet, DaemonSet, Job, ReplicationController and CronJob (the table
 * in pod-spec.ts, which the admission webhook reads too), inside `List`s
 * too; and `services.*.image` of docker-compose files. Multi-document YAML (what
 * `helm template` and `kustomize build` print) is read document by
 * document. Other documents are skipped.
 *
 * Pure: `findImages` reads text; `pinImages` returns new text with image
 * values replaced in place (the source is edited at each scalar's own range,
 * so comments, quoting, ordering and everything else stay byte for byte).
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, Scalar } from 'yaml';
import { invalid } from '../core/errors.ts';
import { CONTAINER_LISTS, IMAGE_VOLUME_PATH, POD_SPEC_PATHS } from './pod-spec.ts';
import { parseAllYamlDocuments } from './yaml-documents.ts';

export interface ImageLocation {
  /** The image as written. */
  readonly image: string;
  /** The namespace of the object (`metadata.namespace`), when it says. */
  readonly namespace?: string;
  /** `Deployment/web`, `compose service api`. */
  readonly object: string;
  /** 1-based. */
  readonly line: number;
  readonly column: number;
  /** The image scalar's source range [start, end) in the text. */
  readonly range: readonly [number, number];
}

/**
 * The images in `text` (one file, possibly many YAML documents), in order.
 * Throws `invalid` MANIFEST_YAML_INVALID naming the file and line when the
 * YAML does not parse.
 */
export function findImages(text: string, source: string): ImageLocation[] {
  const lines = new LineCounter();
  const list = parseAllYamlDocuments(text, { lineCounter: lines });
  for (const document of list) {
    const error = document.errors[0];
    if (error !== undefined) {
      const { line, col } = lines.linePos(error.pos[0]);
      throw invalid(
        'MANIFEST_YAML_INVALID',
        `${source}:${line}:${col}: ${error.message.split('\n')[0]}`,
      );
    }
  }
  const found: ImageLocation[] = [];
  const add = (node: Node | undefined, object: string, namespace: string | undefined) => {
    if (
      !isScalar(node) ||
      typeof node.value !== 'string' ||
      node.range === undefined ||
      node.range === null
    )
      return;
    const { line, col } = lines.linePos(node.range[0]);
    found.push({
      image: node.value,
      ...(namespace === undefined ? {} : { namespace }),
      object,
      line,
      column: col,
      range: [node.range[0], node.range[1]],
    });
  };
  const visitObject = (node: Node | undefined) => {
    if (!isMap(node)) return;
    const kind = stringAt(node, ['kind']);
    if (kind === 'List' || (kind?.endsWith('List') === true && isSeq(at(node, ['items'])))) {
      const items = at(node, ['items']);
      if (isSeq(items)) for (const item of items.items) visitObject(item as Node);
      return;
    }
    if (kind !== undefined && stringAt(node, ['apiVersion']) !== undefined) {
      const path = POD_SPEC_PATHS[kind];
      if (path === undefined) return;
      const name = stringAt(node, ['metadata', 'name']) ?? '?';
      const namespace = stringAt(node, ['metadata', 'namespace']);
      const spec = at(node, path);
      for (const listName of CONTAINER_LISTS) {
        const containers = at(spec, [listName]);
        if (!isSeq(containers)) continue;
        for (const container of containers.items)
          add(at(container as Node, ['image']), `${kind}/${name}`, namespace);
      }
      const volumes = at(spec, ['volumes']);
      if (isSeq(volumes)) {
        for (const volume of volumes.items)
          add(at(volume as Node, IMAGE_VOLUME_PATH), `${kind}/${name}`, namespace);
      }
      return;
    }
    const services = at(node, ['services']);
    if (isMap(services)) {
      for (const pair of services.items) {
        const service = isScalar(pair.key) ? String(pair.key.value) : '?';
        add(at(pair.value as Node, ['image']), `compose service ${service}`, undefined);
      }
    }
  };
  for (const document of list) visitObject((document.contents as Node | null) ?? undefined);
  return found;
}

/**
 * `text` with each image at `pins` (by its range) replaced by the new
 * reference, quoted as the original was. Nothing else changes.
 */
export function pinImages(
  text: string,
  pins: readonly { readonly range: readonly [number, number]; readonly image: string }[],
): string {
  let result = text;
  // From the end, so earlier ranges stay valid.
  for (const pin of [...pins].sort((a, b) => b.range[0] - a.range[0])) {
    const [start, end] = pin.range;
    const original = text.slice(start, end);
    const quote = original.startsWith('"') ? '"' : original.startsWith("'") ? "'" : '';
    result = `${result.slice(0, start)}${quote}${pin.image}${quote}${result.slice(end)}`;
  }
  return result;
}

function at(node: Node | undefined | null, path: readonly string[]): Node | undefined {
  let current: Node | undefined | null = node;
  for (const key of path) {
    if (!isMap(current)) return undefined;
    current = current.get(key, true) as Node | undefined;
  }
  return current ?? undefined;
}

function stringAt(node: Node, path: readonly string[]): string | undefined {
  const value = at(node, path);
  return value instanceof Scalar && typeof value.value === 'string' ? value.value : undefined;
}
