/**
 * How go-containerregistry re-marshals an image it has read and mutated:
 * cosign appends signature layers with ggcr's `mutate.Append`, which decodes
 * the stored manifest and config into Go structs and encodes them again
 * (google/go-containerregistry@3f4ff3ca: pkg/v1/manifest.go, pkg/v1/config.go,
 * pkg/v1/platform.go, pkg/v1/mutate/image.go compute). These functions take
 * the stored JSON and give back the same structs, field for field, so
 * `goMarshal` writes the bytes cosign would:
 *
 * - fields in struct order, `omitempty` fields left out when empty, fields the
 *   structs do not know dropped (Go's decoder ignores them);
 * - times as Go writes a time.Time it has read (RFC3339Nano);
 * - what Go would fail to decode (a number where a string belongs, a
 *   malformed time or digest) refused with `fail`.
 */
import { type Digest, digestOf, isDigest } from '../oci/digest.ts';
import { decodeStdBase64, encodeStdBase64 } from '../core/base64.ts';
import { goMap, type GoStruct, type GoValue } from './go-json.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../core/strict-json.ts';

/** Go's zero `time.Time` as encoding/json writes it (RFC 3339). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export type Fail = (problem: string) => Error;

/** ggcr v1.Manifest, with the new layer appended and the config descriptor updated. */
export function ggcrManifest(
  manifest: JsonObject,
  newLayer: GoStruct,
  configBytes: Uint8Array,
  fail: Fail,
): GoStruct {
  if (manifest.schemaVersion !== 2) throw fail('schemaVersion must be 2');
  const configRaw = manifest.config;
  if (!isJsonObject(configRaw)) throw fail('config must be an object');
  const layersRaw = manifest.layers;
  if (!Array.isArray(layersRaw)) throw fail('layers must be an array');
  const config = ggcrDescriptor(
    {
      ...configRaw,
      size: configBytes.byteLength,
      digest: digestOf(configBytes),
      // mutate.Append: a config descriptor that embedded its data embeds the new config.
      ...(typeof configRaw.data === 'string' && configRaw.data !== ''
        ? { data: encodeStdBase64(configBytes) }
        : {}),
    },
    'config',
    fail,
  );
  const layers = (layersRaw as readonly JsonValue[]).map((raw, i) => {
    if (!isJsonObject(raw)) throw fail(`layers[${i}] must be an object`);
    return ggcrDescriptor(raw, `layers[${i}]`, fail);
  });
  const out: Record<string, GoValue> = { schemaVersion: 2 };
  const mediaType = optionalString(manifest, 'mediaType', 'manifest', fail);
  if (mediaType !== undefined && mediaType !== '') out.mediaType = mediaType;
  out.config = config;
  out.layers = [...layers, newLayer];
  const annotations = stringMap(manifest.annotations, 'annotations', fail);
  if (annotations !== undefined && annotations.size > 0) out.annotations = annotations;
  // `subject` is dropped, as mutate.Append does.
  const artifactType = optionalString(manifest, 'artifactType', 'manifest', fail);
  if (artifactType !== undefined && artifactType !== '') out.artifactType = artifactType;
  return out;
}

/** ggcr v1.Descriptor from raw JSON (fields it does not know are dropped, as Go would). */
export function ggcrDescriptor(raw: JsonObject, path: string, fail: Fail): GoStruct {
  const mediaType = raw.mediaType;
  const size = raw.size;
  const digest = raw.digest;
  if (typeof mediaType !== 'string') throw fail(`${path}.mediaType must be a string`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw fail(`${path}.size must be a non-negative integer`);
  }
  if (typeof digest !== 'string' || !isDigest(digest))
    throw fail(`${path}.digest must be a digest`);
  const out: Record<string, GoValue> = { mediaType, size, digest };
  const data = optionalString(raw, 'data', path, fail);
  if (data !== undefined && data !== '') {
    // Go decodes []byte from base64 and writes it back canonically.
    const decoded = decodeStdBase64(data);
    if (decoded === undefined || encodeStdBase64(decoded) !== data) {
      throw fail(`${path}.data must be canonical standard base64`);
    }
    out.data = data;
  }
  const urls = raw.urls;
  if (urls !== undefined && urls !== null) {
    if (!Array.isArray(urls) || !urls.every((u) => typeof u === 'string')) {
      throw fail(`${path}.urls must be an array of strings`);
    }
    if (urls.length > 0) out.urls = urls as readonly string[];
  }
  const annotations = stringMap(raw.annotations, `${path}.annotations`, fail);
  if (annotations !== undefined && annotations.size > 0) out.annotations = annotations;
  const platform = raw.platform;
  if (platform !== undefined && platform !== null) {
    out.platform = ggcrPlatform(platform, `${path}.platform`, fail);
  }
  const artifactType = optionalString(raw, 'artifactType', path, fail);
  if (artifactType !== undefined && artifactType !== '') out.artifactType = artifactType;
  return out;
}

/** ggcr v1.Platform: architecture, os, os.version?, os.features?, variant?, features?. */
function ggcrPlatform(raw: JsonValue, path: string, fail: Fail): GoStruct {
  if (!isJsonObject(raw)) throw fail(`${path} must be an object`);
  const out: Record<string, GoValue> = {
    architecture: optionalString(raw, 'architecture', path, fail) ?? '',
    os: optionalString(raw, 'os', path, fail) ?? '',
  };
  const osVersion = optionalString(raw, 'os.version', path, fail);
  if (osVersion !== undefined && osVersion !== '') out['os.version'] = osVersion;
  const osFeatures = stringList(raw['os.features'], `${path}.os.features`, fail);
  if (osFeatures !== undefined && osFeatures.length > 0) out['os.features'] = osFeatures;
  const variant = optionalString(raw, 'variant', path, fail);
  if (variant !== undefined && variant !== '') out.variant = variant;
  const features = stringList(raw.features, `${path}.features`, fail);
  if (features !== undefined && features.length > 0) out.features = features;
  return out;
}

/** ggcr v1.ConfigFile with one history entry and one diff ID appended. */
export function ggcrConfig(
  raw: JsonObject,
  diffId: Digest,
  created: string | undefined,
  fail: Fail,
): GoStruct {
  const out: Record<string, GoValue> = {
    architecture: optionalString(raw, 'architecture', 'config', fail) ?? '',
  };
  for (const field of ['author', 'container'] as const) {
    const value = optionalString(raw, field, 'config', fail);
    if (value !== undefined && value !== '') out[field] = value;
  }
  out.created = created ?? goTimeOrZero(raw.created, 'created', fail);
  const dockerVersion = optionalString(raw, 'docker_version', 'config', fail);
  if (dockerVersion !== undefined && dockerVersion !== '') out.docker_version = dockerVersion;

  const historyRaw = raw.history;
  if (historyRaw !== undefined && historyRaw !== null && !Array.isArray(historyRaw)) {
    throw fail('history must be an array');
  }
  const history = ((historyRaw ?? []) as readonly JsonValue[]).map((entry, i) =>
    ggcrHistory(entry, `history[${i}]`, fail),
  );
  history.push({ created: ZERO_TIME });
  out.history = history;

  out.os = optionalString(raw, 'os', 'config', fail) ?? '';

  const rootfsRaw = raw.rootfs ?? {};
  if (!isJsonObject(rootfsRaw)) throw fail('rootfs must be an object');
  const diffIdsRaw = rootfsRaw.diff_ids;
  if (diffIdsRaw !== undefined && diffIdsRaw !== null && !Array.isArray(diffIdsRaw)) {
    throw fail('rootfs.diff_ids must be an array');
  }
  const diffIds = ((diffIdsRaw ?? []) as readonly JsonValue[]).map((value, i) => {
    if (typeof value !== 'string' || !isDigest(value))
      throw fail(`rootfs.diff_ids[${i}] must be a digest`);
    return value;
  });
  out.rootfs = {
    type: optionalString(rootfsRaw, 'type', 'rootfs', fail) ?? '',
    diff_ids: [...diffIds, diffId],
  };

  const inner = raw.config;
  if (
    inner !== undefined &&
    inner !== null &&
    !(isJsonObject(inner) && Object.keys(inner).length === 0)
  ) {
    // ggcr would re-marshal a populated run configuration through its Config
    // struct; no signature image has one, so vouch refuses rather than guess.
    throw fail('its run configuration ("config") is not empty, which no signature image has');
  }
  out.config = {};

  const osVersion = optionalString(raw, 'os.version', 'config', fail);
  if (osVersion !== undefined && osVersion !== '') out['os.version'] = osVersion;
  const variant = optionalString(raw, 'variant', 'config', fail);
  if (variant !== undefined && variant !== '') out.variant = variant;
  const osFeatures = stringList(raw['os.features'], 'os.features', fail);
  if (osFeatures !== undefined && osFeatures.length > 0) out['os.features'] = osFeatures;
  return out;
}

/** ggcr v1.History: author?, created, created_by?, comment?, empty_layer?. */
function ggcrHistory(raw: JsonValue, path: string, fail: Fail): GoStruct {
  if (!isJsonObject(raw)) throw fail(`${path} must be an object`);
  const out: Record<string, GoValue> = {};
  const author = optionalString(raw, 'author', path, fail);
  if (author !== undefined && author !== '') out.author = author;
  out.created = goTimeOrZero(raw.created, `${path}.created`, fail);
  for (const field of ['created_by', 'comment'] as const) {
    const value = optionalString(raw, field, path, fail);
    if (value !== undefined && value !== '') out[field] = value;
  }
  const empty = raw.empty_layer;
  if (empty !== undefined && empty !== null && typeof empty !== 'boolean') {
    throw fail(`${path}.empty_layer must be a boolean`);
  }
  if (empty === true) out.empty_layer = true;
  return out;
}

function goTimeOrZero(value: JsonValue | undefined, path: string, fail: Fail): string {
  if (value === undefined || value === null) return ZERO_TIME;
  if (typeof value !== 'string') throw fail(`${path} must be an RFC 3339 time`);
  return goTime(value, path, fail);
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-](\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 time as Go's time.Time writes it back after reading it
 * (RFC3339Nano): trailing zeros of the fraction trimmed, a zero offset as `Z`.
 */
export function goTime(text: string, path: string, fail: Fail): string {
  const m = RFC3339.exec(text);
  const n = (i: number) => Number(m?.[i] ?? 'NaN');
  const inRange = (i: number, low: number, high: number) => n(i) >= low && n(i) <= high;
  const valid =
    m !== null &&
    inRange(2, 1, 12) &&
    inRange(3, 1, 31) &&
    inRange(4, 0, 23) &&
    inRange(5, 0, 59) &&
    inRange(6, 0, 59) &&
    (m[9] === undefined || (inRange(9, 0, 23) && inRange(10, 0, 59)));
  if (!valid) {
    throw fail(
      `${path} must be an RFC 3339 time such as ${ZERO_TIME}, found ${JSON.stringify(text)}`,
    );
  }
  const fraction = (m[7] ?? '').replace(/0+$/, '');
  const zone = m[8] === 'Z' || m[8] === '+00:00' || m[8] === '-00:00' ? 'Z' : (m[8] as string);
  return `${text.slice(0, 19)}${fraction === '' ? '' : `.${fraction}`}${zone}`;
}

function optionalString(
  raw: JsonObject,
  field: string,
  path: string,
  fail: Fail,
): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw fail(`${path}.${field} must be a string`);
  return value;
}

function stringList(
  value: JsonValue | undefined,
  path: string,
  fail: Fail,
): readonly string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw fail(`${path} must be an array of strings`);
  }
  return value as readonly string[];
}

function stringMap(
  value: JsonValue | undefined,
  path: string,
  fail: Fail,
): ReadonlyMap<string, GoValue> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw fail(`${path} must be an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw fail(`${path}[${JSON.stringify(key)}] must be a string`);
  }
  return goMap(value as Readonly<Record<string, string>>);
}
