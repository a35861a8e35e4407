/**
 * Finding every image in deployment files, with where it is written: the
 * containers, initContainers and ephemeralContainers and the image volumes
 * of Kubernetes Pods and of the pod templates of Deployment, ReplicaSet,
 * StatefulSet, DaemonSet, Job, ReplicationController and CronJob (the table
 * in pod-spec.ts, which the admission webhook reads too), inside `List`s
 * too; and `services.*.image` of docker-compose files. Multi-document YAML (what
 * `helm template` and `kustomize build` print) is read document by
 * document. Other documents are skipped. Aliases are followed as kubectl's
 * and compose's YAML readers follow them, so an image behind `*anchor` is
 * found (and reported where the alias is written).
 *
 * Pure: `findImages` reads text; `pinImages` (pin-images.ts) edits it.
 */
import { type Alias, type Document, isAlias, isMap, isScalar, isSeq } from 'yaml';
import { invalid } from '../core/errors.ts';
import { CONTAINER_LISTS, IMAGE_VOLUME_PATH, POD_SPEC_PATHS } from './pod-spec.ts';
import { aliasResolver, parseStream, type ValueNode } from './yaml-stream.ts';

export interface ImageLocation {
  /** The image as written. */
  readonly image: string;
  /** The namespace of the object (`metadata.namespace`), when it says. */
  readonly namespace?: string;
  /** `Deployment/web`, `compose service api`. */
  readonly object: string;
  /** 1-based: where the value is written, or the alias that leads to it (the last one, if several). */
  readonly line: number;
  readonly column: number;
  /** The source range [start, end) of the scalar holding the value (for an alias, the anchored one). */
  readonly range: readonly [number, number];
  /** The index of the document in the stream. */
  readonly document: number;
  /**
   * The way from the document's root to the value, aliases followed: at each
   * step the index of the pair in a map or of the item in a sequence.
   */
  readonly path: readonly number[];
}

/**
 * Objects (documents, List items) and image fields (containers, volumes,
 * services) one file may hold. Aliases let a few lines name the same List or
 * container list many times over (YAML 1.2.2 §3.2.2.2); this bounds the work.
 */
const MAX_ENTRIES = 100_000;

/** Merges inside merged maps followed: real files nest a few; a map merged into itself ends here. */
const MAX_MERGES = 8;

/** A value reached in a document: the node it stands for and the way there. */
interface Place {
  readonly node: ValueNode;
  readonly path: readonly number[];
  /** The last alias on the way, if any: where the place is written. */
  readonly alias?: Alias;
}

/**
 * The images in `text` (one file, possibly many YAML documents), in order.
 * Throws `invalid` MANIFEST_YAML_INVALID naming the file and line when the
 * YAML does not parse.
 */
export function findImages(text: string, source: string): ImageLocation[] {
  const { documents, lines } = parseStream(text, source);
  const found: ImageLocation[] = [];
  let entries = 0;
  const count = () => {
    if (++entries > MAX_ENTRIES) {
      throw invalid(
        'MANIFEST_TOO_LARGE',
        `${source}: more than ${MAX_ENTRIES} objects and image fields (through aliases?); not read`,
      );
    }
  };
  documents.forEach((document: Document.Parsed, index) => {
    const resolve = aliasResolver(document);
    /** The place of `written`, the `i`th pair or item under `place`. */
    const step = (place: Place, written: unknown, i: number): Place | undefined => {
      const node = resolve(written);
      if (node === undefined) return undefined;
      const alias = isAlias(written) ? written : place.alias;
      return { node, path: [...place.path, i], ...(alias === undefined ? {} : { alias }) };
    };
    /** The items of a sequence, each with its place. */
    const itemsOf = (place: Place | undefined): Place[] =>
      place === undefined || !isSeq(place.node)
        ? []
        : place.node.items.flatMap((item, i) => step(place, item, i) ?? []);
    /** The value of `key` in the map at `place`, its own or merged into it. */
    const child = (place: Place | undefined, key: string, merges = 0): Place | undefined => {
      if (place === undefined || !isMap(place.node)) return undefined;
      const pairs = place.node.items;
      const i = pairs.findIndex((pair) => {
        const name = resolve(pair.key);
        return isScalar(name) && name.value === key;
      });
      if (i >= 0) return step(place, pairs[i]?.value, i);
      // Merge keys (https://yaml.org/type/merge.html), which kubectl's and compose's
      // readers apply: after the map's own keys, each merged map in the order listed.
      const m = merges < MAX_MERGES ? pairs.findIndex((pair) => isMergeKey(resolve(pair.key))) : -1;
      const merged = m < 0 ? undefined : step(place, pairs[m]?.value, m);
      for (const source of isSeq(merged?.node) ? itemsOf(merged) : merged ? [merged] : []) {
        count();
        const found = child(source, key, merges + 1);
        if (found !== undefined) return found;
      }
      return undefined;
    };
    const at = (place: Place | undefined, keys: readonly string[]) =>
      keys.reduce<Place | undefined>((current, key) => child(current, key), place);
    const stringAt = (place: Place, keys: readonly string[]): string | undefined => {
      const node = at(place, keys)?.node;
      return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
    };
    const add = (place: Place | undefined, object: string, namespace: string | undefined) => {
      count();
      const node = place?.node;
      if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return;
      const written = place?.alias?.range ?? node.range;
      const { line, col } = lines.linePos(written[0]);
      found.push({
        image: node.value,
        ...(namespace === undefined ? {} : { namespace }),
        object,
        line,
        column: col,
        range: [node.range[0], node.range[1]],
        document: index,
        path: place?.path ?? [],
      });
    };
    // The Lists being read, so a List that holds itself through an alias ends.
    const open = new Set<ValueNode>();
    const visitObject = (place: Place | undefined) => {
      if (place === undefined || !isMap(place.node) || open.has(place.node)) return;
      count();
      const kind = stringAt(place, ['kind']);
      const items = at(place, ['items']);
      if (kind === 'List' || (kind?.endsWith('List') === true && isSeq(items?.node))) {
        open.add(place.node);
        for (const item of itemsOf(items)) visitObject(item);
        open.delete(place.node);
        return;
      }
      if (kind !== undefined && stringAt(place, ['apiVersion']) !== undefined) {
        const path = POD_SPEC_PATHS[kind];
        if (path === undefined) return;
        const name = stringAt(place, ['metadata', 'name']) ?? '?';
        const namespace = stringAt(place, ['metadata', 'namespace']);
        const spec = at(place, path);
        for (const listName of CONTAINER_LISTS) {
          for (const container of itemsOf(at(spec, [listName])))
            add(child(container, 'image'), `${kind}/${name}`, namespace);
        }
        for (const volume of itemsOf(at(spec, ['volumes'])))
          add(at(volume, IMAGE_VOLUME_PATH), `${kind}/${name}`, namespace);
        return;
      }
      const services = at(place, ['services']);
      if (services !== undefined && isMap(services.node)) {
        services.node.items.forEach((pair, i) => {
          const key = resolve(pair.key);
          const service = isScalar(key) ? String(key.value) : '?';
          const value = step(services, pair.value, i);
          add(child(value, 'image'), `compose service ${service}`, undefined);
        });
      }
    };
    const root = resolve(document.contents);
    if (root !== undefined) visitObject({ node: root, path: [] });
  });
  return found;
}

/** `<<` written plain or tagged !!merge: YAML 1.1's merge key (a quoted "<<" is a plain string). */
function isMergeKey(node: ValueNode | undefined): boolean {
  if (!isScalar(node) || (node.type !== 'PLAIN' && node.tag !== 'tag:yaml.org,2002:merge'))
    return false;
  // The yaml library reads it as a symbol where it applies merges itself (YAML 1.1 documents).
  const { value } = node;
  return value === '<<' || (typeof value === 'symbol' && value.description === '<<');
}
