/**
 * Notary v1 metadata made and signed in tests, in the shapes notary 0.7.0
 * writes (docs/formats.md "Notary v1"): x509 root keys whose certificate names
 * the GUN, ecdsa targets and delegation keys, ed25519 snapshot and timestamp
 * keys as notary-server's local signer makes them. Root certificates are
 * built here in DER by hand (Node can read certificates but not make them),
 * so each test can give one the wrong name, a CA flag, an expiry in the past
 * or a SHA-1 signature.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { notaryCanonicalJson } from '../../src/formats/notary/canonical-json.ts';
import { notaryKeyId } from '../../src/formats/notary/keys.ts';
import type { JsonValue } from '../../src/core/strict-json.ts';
import type { FetchedMetadata } from '../../src/dct/update.ts';

export interface TestKey {
  readonly id: string;
  readonly type: 'ecdsa' | 'ecdsa-x509' | 'ed25519';
  readonly publicBytes: Uint8Array;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function ecdsaKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicBytes = publicKey.export({ format: 'der', type: 'spki' });
  return {
    id: notaryKeyId('ecdsa', publicBytes),
    type: 'ecdsa',
    publicBytes,
    privateKey,
    publicKey,
  };
}

export function ed25519Key(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicBytes = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return {
    id: notaryKeyId('ed25519', publicBytes),
    type: 'ed25519',
    publicBytes,
    privateKey,
    publicKey,
  };
}

export interface CertificateOptions {
  readonly commonName: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly ca?: boolean;
  readonly sha1?: boolean;
}

const DAY = 24 * 60 * 60 * 1000;

/** An `ecdsa-x509` root key: a P-256 key and a self-signed certificate for it. */
export function rootKey(
  options: CertificateOptions,
): TestKey & { readonly certificatePem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = certificate(privateKey, publicKey, options);
  const certificatePem =
    `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`.replace(
      '\n\n',
      '\n',
    );
  const publicBytes = new TextEncoder().encode(certificatePem);
  return {
    id: notaryKeyId('ecdsa-x509', publicBytes),
    type: 'ecdsa-x509',
    publicBytes,
    privateKey,
    publicKey,
    certificatePem,
  };
}

// ---------------------------------------------------------------------------
// DER, just enough for one certificate.

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}
const seq = (...items: Uint8Array[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Uint8Array[]) => tlv(0x31, Buffer.concat(items));
const int = (value: number) => tlv(0x02, Buffer.from([value]));
const bool = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0]));
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));
const octets = (bytes: Uint8Array) => tlv(0x04, bytes);
const bits = (bytes: Uint8Array) => tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
const explicit = (n: number, content: Uint8Array) => tlv(0xa0 + n, content);

function oid(text: string): Uint8Array {
  const [first = 0, second = 0, ...rest] = text.split('.').map(Number);
  const out = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(date: Date): Uint8Array {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`));
}

function certificate(privateKey: KeyObject, publicKey: KeyObject, options: CertificateOptions) {
  const now = Date.now();
  const algorithm = seq(oid(options.sha1 ? '1.2.840.10045.4.1' : '1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), utf8(options.commonName))));
  const basicConstraints = seq(...(options.ca ? [bool(true)] : []));
  const tbs = seq(
    explicit(0, int(2)),
    int(1),
    algorithm,
    name,
    seq(
      time(options.notBefore ?? new Date(now - DAY)),
      time(options.notAfter ?? new Date(now + 3650 * DAY)),
    ),
    name,
    publicKey.export({ format: 'der', type: 'spki' }),
    explicit(3, seq(seq(oid('2.5.29.19'), bool(true), octets(basicConstraints)))),
  );
  const signature = sign(options.sha1 ? 'sha1' : 'sha256', tbs, privateKey);
  return seq(tbs, algorithm, bits(signature));
}

// ---------------------------------------------------------------------------
// Metadata

export function keyJson(key: TestKey): JsonValue {
  return {
    keytype: key.type,
    keyval: { private: null, public: Buffer.from(key.publicBytes).toString('base64') },
  };
}

export function keysJson(keys: readonly TestKey[]): JsonValue {
  return Object.fromEntries(keys.map((key) => [key.id, keyJson(key)]));
}

/** RFC3339Nano as Go writes it, from milliseconds. */
export function goTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

/** The `{"signed":…,"signatures":[…]}` bytes, signed by `signers` (a key may appear as another ID). */
export function signMetadata(
  signed: JsonValue,
  signers: readonly TestKey[],
  options: { readonly keyIdOf?: (key: TestKey) => string } = {},
): Uint8Array {
  const message = Buffer.from(notaryCanonicalJson(signed));
  const signatures = signers.map((key) => ({
    keyid: options.keyIdOf?.(key) ?? key.id,
    method: key.type === 'ed25519' ? 'eddsa' : 'ecdsa',
    sig: (key.type === 'ed25519'
      ? sign(null, message, key.privateKey)
      : sign('sha256', message, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    ).toString('base64'),
  }));
  return Buffer.from(JSON.stringify({ signed, signatures }));
}

export function fileMeta(bytes: Uint8Array): JsonValue {
  return {
    hashes: {
      sha256: createHash('sha256').update(bytes).digest('base64'),
      sha512: createHash('sha512').update(bytes).digest('base64'),
    },
    length: bytes.length,
  };
}

export interface Delegation {
  readonly name: string;
  readonly keys: readonly TestKey[];
  readonly paths?: readonly string[];
  readonly threshold?: number;
}

export interface RoleContent {
  readonly targets: Readonly<
    Record<string, { readonly digestHex: string; readonly length: number }>
  >;
  readonly delegations?: readonly Delegation[];
  /** Keys that sign this role's file; its delegator's keys for it by default. */
  readonly signers?: readonly TestKey[];
  readonly expires?: number;
}

/**
 * A notary repository for one GUN that tests publish versions of: every
 * `publish()` bumps each role's version (as notary does on change) and
 * returns what a server would serve. Fields are public so a test can swap a
 * key, an expiry or a signer before publishing the attack it needs.
 */
export class TestNotaryRepository {
  readonly gun: string;
  rootKeys: TestKey[];
  rootSigners: TestKey[] | undefined;
  rootThreshold = 1;
  targetsKey = ecdsaKey();
  snapshotKey = ed25519Key();
  timestampKey = ed25519Key();
  rootExpires = Date.now() + 3650 * DAY;
  snapshotExpires = Date.now() + 1095 * DAY;
  timestampExpires = Date.now() + 14 * DAY;
  /** Roles by name: `targets` and delegations. */
  roles = new Map<string, RoleContent>([['targets', { targets: {} }]]);
  versions = { root: 0, targets: new Map<string, number>(), snapshot: 0, timestamp: 0 };
  /** Every root published, by version. */
  readonly rootHistory = new Map<number, Uint8Array>();

  constructor(gun: string) {
    this.gun = gun;
    this.rootKeys = [rootKey({ commonName: gun })];
  }

  /** A new root version signed by `rootSigners` (the current root keys by default). */
  publishRoot(): Uint8Array {
    this.versions.root++;
    const signed = {
      _type: 'Root',
      consistent_snapshot: false,
      expires: goTime(this.rootExpires),
      keys: keysJson([...this.rootKeys, this.targetsKey, this.snapshotKey, this.timestampKey]),
      roles: {
        root: { keyids: this.rootKeys.map((k) => k.id), threshold: this.rootThreshold },
        snapshot: { keyids: [this.snapshotKey.id], threshold: 1 },
        targets: { keyids: [this.targetsKey.id], threshold: 1 },
        timestamp: { keyids: [this.timestampKey.id], threshold: 1 },
      },
      version: this.versions.root,
    };
    const bytes = signMetadata(signed, this.rootSigners ?? this.rootKeys);
    this.rootHistory.set(this.versions.root, bytes);
    return bytes;
  }

  targetsFile(role: string, delegatorKeys: readonly TestKey[]): Uint8Array {
    const content = this.roles.get(role) as RoleContent;
    const version = (this.versions.targets.get(role) ?? 0) + 1;
    this.versions.targets.set(role, version);
    const delegations = content.delegations ?? [];
    const signed = {
      _type: 'Targets',
      delegations: {
        keys: keysJson(delegations.flatMap((d) => d.keys)),
        roles: delegations.map((d) => ({
          keyids: d.keys.map((k) => k.id),
          name: d.name,
          ...(d.paths === undefined
            ? { paths: [''] }
            : d.paths.length === 0
              ? {}
              : { paths: [...d.paths] }),
          threshold: d.threshold ?? 1,
        })),
      },
      expires: goTime(content.expires ?? Date.now() + 1095 * DAY),
      targets: Object.fromEntries(
        Object.entries(content.targets).map(([name, t]) => [
          name,
          {
            hashes: { sha256: Buffer.from(t.digestHex, 'hex').toString('base64') },
            length: t.length,
          },
        ]),
      ),
      version,
    };
    return signMetadata(signed, content.signers ?? delegatorKeys);
  }

  /** Publishes root (first time, or when asked), every role, a snapshot and a timestamp. */
  publish(options: { readonly root?: boolean } = {}): FetchedMetadata {
    const root =
      options.root === true || this.versions.root === 0
        ? this.publishRoot()
        : (this.rootHistory.get(this.versions.root) as Uint8Array);
    const targets = new Map<string, Uint8Array>();
    const keysOf = new Map<string, readonly TestKey[]>([['targets', [this.targetsKey]]]);
    const queue = ['targets'];
    for (let role = queue.shift(); role !== undefined; role = queue.shift()) {
      if (!this.roles.has(role)) continue;
      targets.set(role, this.targetsFile(role, keysOf.get(role) ?? []));
      for (const d of this.roles.get(role)?.delegations ?? []) {
        keysOf.set(d.name, d.keys);
        queue.push(d.name);
      }
    }
    this.versions.snapshot++;
    const snapshot = signMetadata(
      {
        _type: 'Snapshot',
        expires: goTime(this.snapshotExpires),
        meta: Object.fromEntries([
          ['root', fileMeta(root)],
          ...[...targets].map(([r, b]) => [r, fileMeta(b)]),
        ]),
        version: this.versions.snapshot,
      },
      [this.snapshotKey],
    );
    this.versions.timestamp++;
    const timestamp = signMetadata(
      {
        _type: 'Timestamp',
        expires: goTime(this.timestampExpires),
        meta: { snapshot: fileMeta(snapshot) },
        version: this.versions.timestamp,
      },
      [this.timestampKey],
    );
    return { root, roots: new Map(this.rootHistory), timestamp, snapshot, targets };
  }
}
