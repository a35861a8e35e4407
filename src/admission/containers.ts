/**
 * Where the images are in the object of an admission request: the
 * containers of every list and the image volumes of the pod spec of each
 * workload kind (the table in policy/pod-spec.ts, which `vouch policy check`
 * reads too), as JSON pointers (RFC 6901) so a mutation can replace exactly
 * that string.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../core/strict-json.ts';
import { CONTAINER_LISTS, IMAGE_VOLUME_PATH, POD_SPEC_PATHS } from '../policy/pod-spec.ts';
import type { AdmissionRequest } from './review.ts';

export interface ContainerImage {
  readonly image: string;
  /** JSON pointer to the image string: `/spec/template/spec/containers/0/image`. */
  readonly pointer: string;
  /** For messages: `containers[0] (app)`, `volumes[1] (models)`. */
  readonly container: string;
}

/**
 * The images of the request's object, or undefined when its kind holds no
 * pod spec vouch knows (the webhook then has nothing to check). The
 * `pods/ephemeralcontainers` subresource sends the whole Pod (Kubernetes
 * ≥ 1.22); the older `EphemeralContainers` object keeps the list at the top.
 */
export function containerImages(request: AdmissionRequest): ContainerImage[] | undefined {
  const object = request.object;
  if (object === null) return undefined;
  if (object['kind'] === 'EphemeralContainers')
    return fromLists(object, [], ['ephemeralContainers']);
  const path = POD_SPEC_PATHS[request.kind.kind];
  if (path === undefined) return undefined;
  const found = fromLists(object, path, CONTAINER_LISTS);
  for (const volume of imageVolumes(object, path)) found.push(volume);
  return found;
}

function imageVolumes(object: JsonObject, path: readonly string[]): ContainerImage[] {
  const spec = at(object, path);
  const volumes = isJsonObject(spec) ? spec['volumes'] : undefined;
  if (!Array.isArray(volumes)) return [];
  const found: ContainerImage[] = [];
  (volumes as readonly JsonValue[]).forEach((volume, index) => {
    if (!isJsonObject(volume)) return;
    const image = at(volume, IMAGE_VOLUME_PATH);
    if (typeof image !== 'string' || image === '') return;
    const name = typeof volume['name'] === 'string' ? ` (${volume['name']})` : '';
    found.push({
      image,
      pointer: `/${[...path, 'volumes', String(index), ...IMAGE_VOLUME_PATH].join('/')}`,
      container: `volumes[${index}]${name}`,
    });
  });
  return found;
}

function at(object: JsonObject, path: readonly string[]): JsonValue | undefined {
  let value: JsonValue | undefined = object;
  for (const key of path) value = isJsonObject(value) ? value[key] : undefined;
  return value;
}

function fromLists(
  object: JsonObject,
  path: readonly string[],
  lists: readonly string[],
): ContainerImage[] {
  const spec = at(object, path);
  const found: ContainerImage[] = [];
  if (!isJsonObject(spec)) return found;
  // The pointer's common start, joined once rather than per container.
  const prefix = path.length === 0 ? '' : `/${path.join('/')}`;
  for (const list of lists) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    for (let index = 0; index < containers.length; index++) {
      const container = (containers as readonly JsonValue[])[index];
      if (!isJsonObject(container)) continue;
      const image = container['image'];
      // An empty image is the API server's to refuse; nothing to verify here.
      if (typeof image !== 'string' || image === '') continue;
      const name = container['name'];
      found.push({
        image,
        pointer: `${prefix}/${list}/${index}/image`,
        container: typeof name === 'string' ? `${list}[${index}] (${name})` : `${list}[${index}]`,
      });
    }
  }
  return found;
}
