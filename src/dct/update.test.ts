import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { expectError } from '../../test/helpers/assertions.ts';
import {
  ecdsaKey,
  rootKey,
  signMetadata,
  TestNotaryRepository,
} from '../../test/helpers/notary-metadata.ts';
import { canonicalKeyId, notaryKey } from '../formats/notary/keys.ts';
import { findTarget } from './lookup.ts';
import {
  type FetchedMetadata,
  type TrustedMetadata,
  type UpdateContext,
  updateTrustedMetadata,
} from './update.ts';

const GUN = 'registry.example.com/team/app';
const DAY = 24 * 60 * 60 * 1000;
const DIGEST = 'a'.repeat(64);
const OTHER_DIGEST = 'b'.repeat(64);
const NONE: TrustedMetadata = { targets: new Map() };

function context(extra: Partial<UpdateContext> = {}): UpdateContext {
  return { gun: GUN, now: Date.now(), ...extra };
}

/** The trust store after accepting `fetched`, as store.ts would save it. */
function trustedAfter(fetched: FetchedMetadata): TrustedMetadata {
  return {
    root: fetched.root,
    timestamp: fetched.timestamp,
    snapshot: fetched.snapshot,
    targets: fetched.targets,
  };
}

function signedRepository(): TestNotaryRepository {
  const repo = new TestNotaryRepository(GUN);
  repo.roles.set('targets', { targets: { v1: { digestHex: DIGEST, length: 528 } } });
  return repo;
}

const refuses = (code: string, text?: string) => expectError('denied', code, text);

describe('updateTrustedMetadata: a valid repository', () => {
  it('trusts the root on first use and resolves a tag in targets', () => {
    const repo = signedRepository();
    const verified = updateTrustedMetadata(NONE, repo.publish(), context());
    const target = findTarget(verified, 'v1');
    assert.equal(target?.role, 'targets');
    assert.equal(Buffer.from(target.meta.hashes.get('sha256') ?? []).toString('hex'), DIGEST);
    assert.equal(target.meta.length, 528);
    assert.deepEqual(target.signers, [repo.targetsKey.id]);
    assert.equal(findTarget(verified, 'v2'), undefined);
  });

  it('prefers targets/releases to targets, and names the releases signer', () => {
    const repo = signedRepository();
    const releases = ecdsaKey();
    repo.roles.set('targets', {
      targets: { v1: { digestHex: OTHER_DIGEST, length: 1 } },
      delegations: [{ name: 'targets/releases', keys: [releases] }],
    });
    repo.roles.set('targets/releases', { targets: { v1: { digestHex: DIGEST, length: 528 } } });
    const verified = updateTrustedMetadata(NONE, repo.publish(), context());
    const target = findTarget(verified, 'v1');
    assert.equal(target?.role, 'targets/releases');
    assert.deepEqual(target.signers, [releases.id]);
    assert.equal(Buffer.from(target.meta.hashes.get('sha256') ?? []).toString('hex'), DIGEST);
  });

  it('reports a tag found only in another delegation under that role (docker then refuses it)', () => {
    const repo = signedRepository();
    const alice = ecdsaKey();
    repo.roles.set('targets', {
      targets: {},
      delegations: [{ name: 'targets/alice', keys: [alice] }],
    });
    repo.roles.set('targets/alice', { targets: { v9: { digestHex: DIGEST, length: 2 } } });
    const verified = updateTrustedMetadata(NONE, repo.publish(), context());
    assert.equal(findTarget(verified, 'v9')?.role, 'targets/alice');
  });

  it('accepts a newer version of every role after the trusted one', () => {
    const repo = signedRepository();
    const first = repo.publish();
    updateTrustedMetadata(NONE, first, context());
    repo.roles.set('targets', { targets: { v2: { digestHex: DIGEST, length: 1 } } });
    const verified = updateTrustedMetadata(trustedAfter(first), repo.publish(), context());
    assert.equal(findTarget(verified, 'v2')?.role, 'targets');
    assert.equal(findTarget(verified, 'v1'), undefined);
  });
});

describe('updateTrustedMetadata: root', () => {
  it('follows a rotation signed by the old and the new root key', () => {
    const repo = signedRepository();
    const first = repo.publish();
    const oldKey = repo.rootKeys[0];
    repo.rootKeys = [rootKey({ commonName: GUN })];
    repo.rootSigners = [...repo.rootKeys, oldKey as (typeof repo.rootKeys)[0]];
    repo.publishRoot(); // v2
    repo.rootSigners = undefined;
    const latest = repo.publish({ root: true }); // v3, signed by the new key only
    const verified = updateTrustedMetadata(trustedAfter(first), latest, context());
    assert.equal(verified.root.signed.version, 3);
    assert.equal(findTarget(verified, 'v1')?.role, 'targets');
  });

  it('refuses a new root the old root keys did not sign (NOTARY_ROOT_ROTATION_INVALID)', () => {
    const repo = signedRepository();
    const first = repo.publish();
    repo.rootKeys = [rootKey({ commonName: GUN })];
    assert.throws(
      () => updateTrustedMetadata(trustedAfter(first), repo.publish({ root: true }), context()),
      refuses('NOTARY_ROOT_ROTATION_INVALID', 'root version 2'),
    );
  });

  it('refuses to skip a root version the server does not provide', () => {
    const repo = signedRepository();
    const first = repo.publish();
    repo.publishRoot();
    const latest = repo.publish({ root: true });
    const roots = new Map(latest.roots);
    roots.delete(2);
    assert.throws(
      () => updateTrustedMetadata(trustedAfter(first), { ...latest, roots }, context()),
      refuses('NOTARY_ROOT_ROTATION_INVALID', 'root version 2 is needed'),
    );
  });

  it('refuses an older root than the trusted one (NOTARY_ROLLBACK)', () => {
    const repo = signedRepository();
    const first = repo.publish();
    const second = repo.publish({ root: true });
    assert.throws(
      () => updateTrustedMetadata(trustedAfter(second), { ...second, root: first.root }, context()),
      refuses('NOTARY_ROLLBACK', 'root.json is version 1'),
    );
  });

  it('refuses an expired root (NOTARY_EXPIRED)', () => {
    const repo = signedRepository();
    repo.rootExpires = Date.now() - 1000;
    assert.throws(
      () => updateTrustedMetadata(NONE, repo.publish(), context()),
      refuses('NOTARY_EXPIRED', 'root version 1 expired'),
    );
  });

  it('refuses a root with too few signatures (NOTARY_THRESHOLD_NOT_MET)', () => {
    const repo = signedRepository();
    repo.rootKeys = [rootKey({ commonName: GUN }), rootKey({ commonName: GUN })];
    repo.rootThreshold = 2;
    repo.rootSigners = [repo.rootKeys[0] as (typeof repo.rootKeys)[0]];
    assert.throws(
      () => updateTrustedMetadata(NONE, repo.publish(), context()),
      refuses('NOTARY_THRESHOLD_NOT_MET', '1 valid signature(s) by its keys, 2 required'),
    );
  });

  for (const [label, options, text] of [
    [
      'for another GUN',
      { commonName: 'registry.example.com/other' },
      'not "registry.example.com/team/app"',
    ],
    ['a CA', { commonName: GUN, ca: true }, 'CA certificate'],
    [
      'that expired',
      {
        commonName: GUN,
        notBefore: new Date(Date.now() - 20 * DAY),
        notAfter: new Date(Date.now() - DAY),
      },
      'valid only from',
    ],
    [
      'that starts in two days',
      { commonName: GUN, notBefore: new Date(Date.now() + 2 * DAY) },
      'valid only from',
    ],
    ['signed with SHA-1', { commonName: GUN, sha1: true }, 'SHA-1'],
  ] as const) {
    it(`refuses a root whose certificate is ${label} (NOTARY_ROOT_CERT_INVALID)`, () => {
      const repo = signedRepository();
      repo.rootKeys = [rootKey(options)];
      assert.throws(
        () => updateTrustedMetadata(NONE, repo.publish(), context()),
        refuses('NOTARY_ROOT_CERT_INVALID', text),
      );
    });
  }

  it('accepts a certificate with a wildcard name covering the GUN, and one starting within a day', () => {
    const repo = signedRepository();
    repo.rootKeys = [
      rootKey({
        commonName: 'registry.example.com/team/*',
        notBefore: new Date(Date.now() + DAY / 2),
      }),
    ];
    assert.equal(updateTrustedMetadata(NONE, repo.publish(), context()).root.signed.version, 1);
  });

  it('with a pinned key, accepts the root it signs and refuses one rotated away from it (NOTARY_ROOT_NOT_PINNED)', () => {
    const repo = signedRepository();
    const first = repo.publish();
    const pinned = canonicalKeyId(
      notaryKey('ecdsa-x509', (repo.rootKeys[0] as (typeof repo.rootKeys)[0]).publicBytes, 'test'),
    );
    assert.equal(
      updateTrustedMetadata(NONE, first, context({ pinnedRootKeys: [pinned] })).root.signed.version,
      1,
    );

    const oldKey = repo.rootKeys[0] as (typeof repo.rootKeys)[0];
    repo.rootKeys = [rootKey({ commonName: GUN })];
    repo.rootSigners = [...repo.rootKeys, oldKey];
    const rotated = repo.publish({ root: true });
    // Without the pin the rotation is followed (trust on first use)...
    assert.equal(
      updateTrustedMetadata(trustedAfter(first), rotated, context()).root.signed.version,
      2,
    );
    // ...with it, it is not, even though the old key signed the new root.
    assert.throws(
      () =>
        updateTrustedMetadata(trustedAfter(first), rotated, context({ pinnedRootKeys: [pinned] })),
      refuses('NOTARY_ROOT_NOT_PINNED'),
    );
  });

  it('with a pinned key, refuses an unknown root on first use', () => {
    const repo = signedRepository();
    const stranger = canonicalKeyId(
      notaryKey('ecdsa-x509', rootKey({ commonName: GUN }).publicBytes, 'test'),
    );
    assert.throws(
      () => updateTrustedMetadata(NONE, repo.publish(), context({ pinnedRootKeys: [stranger] })),
      refuses('NOTARY_ROOT_NOT_PINNED', 'signed by 0 pinned root key(s)'),
    );
  });
});

describe('updateTrustedMetadata: timestamp, snapshot, targets', () => {
  it('refuses a replayed older timestamp (NOTARY_ROLLBACK)', () => {
    const repo = signedRepository();
    const first = repo.publish();
    const second = repo.publish();
    assert.throws(
      () => updateTrustedMetadata(trustedAfter(second), first, context()),
      refuses('NOTARY_ROLLBACK', 'timestamp is version 1, older than the trusted version 2'),
    );
  });

  it('refuses a replayed older snapshot under a new timestamp (NOTARY_ROLLBACK)', () => {
    const repo = signedRepository();
    const first = repo.publish();
    const second = repo.publish();
    // A server holding the timestamp key re-signs a timestamp for the old snapshot.
    const replay = signMetadata(
      {
        _type: 'Timestamp',
        expires: new Date(Date.now() + DAY).toISOString(),
        meta: JSON.parse(first.timestamp.toString()).signed.meta,
        version: 3,
      },
      [repo.timestampKey],
    );
    assert.throws(
      () => updateTrustedMetadata(trustedAfter(second), { ...first, timestamp: replay }, context()),
      refuses('NOTARY_ROLLBACK', 'snapshot is version 1, older than the trusted version 2'),
    );
  });

  it('refuses an older targets file than the trusted one (NOTARY_ROLLBACK)', () => {
    const repo = signedRepository();
    const first = repo.publish();
    const second = repo.publish();
    const trusted = { ...trustedAfter(first), targets: second.targets };
    const third = repo.publish();
    // The snapshot and timestamp are new, but list targets version 1 again.
    repo.versions.targets.set('targets', 0);
    const replayed = repo.publish();
    assert.throws(
      () => updateTrustedMetadata(trusted, replayed, context()),
      refuses('NOTARY_ROLLBACK', 'targets is version 1, older than the trusted version 2'),
    );
    assert.equal(updateTrustedMetadata(trusted, third, context()).targets.size, 1);
  });

  it('forgets the trusted timestamp version when the root rotates the timestamp key', () => {
    const repo = signedRepository();
    repo.publish();
    const second = repo.publish();
    repo.timestampKey = ecdsaKey();
    repo.versions.timestamp = 0;
    const rotated = repo.publish({ root: true });
    assert.equal(
      updateTrustedMetadata(trustedAfter(second), rotated, context()).timestamp.signed.version,
      1,
    );
  });

  for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
    it(`refuses an expired ${role} (NOTARY_EXPIRED)`, () => {
      const repo = signedRepository();
      const fetched = repo.publish();
      const later = Date.now() + { timestamp: 15, snapshot: 1100, targets: 1100 }[role] * DAY;
      if (role === 'targets') repo.snapshotExpires = later + DAY;
      if (role !== 'timestamp') repo.timestampExpires = later + DAY;
      const republished = role === 'timestamp' ? fetched : repo.publish();
      assert.throws(
        () => updateTrustedMetadata(NONE, republished, context({ now: later })),
        refuses('NOTARY_EXPIRED', `${role} version`),
      );
    });
  }

  it('refuses a snapshot that is not the one the timestamp lists (mix-and-match)', () => {
    const repo = signedRepository();
    const first = repo.publish();
    const second = repo.publish();
    assert.throws(
      () => updateTrustedMetadata(NONE, { ...second, snapshot: first.snapshot }, context()),
      refuses('NOTARY_HASH_MISMATCH', 'snapshot'),
    );
  });

  it('refuses a targets file that is not the one the snapshot lists (mix-and-match)', () => {
    const repo = signedRepository();
    const first = repo.publish();
    const second = repo.publish();
    assert.throws(
      () => updateTrustedMetadata(NONE, { ...second, targets: first.targets }, context()),
      refuses('NOTARY_HASH_MISMATCH', 'targets'),
    );
  });

  it('refuses a snapshot made for another root', () => {
    const repo = signedRepository();
    const first = repo.publish();
    const second = repo.publish({ root: true });
    assert.throws(
      () => updateTrustedMetadata(trustedAfter(first), { ...second, root: first.root }, context()),
      refuses('NOTARY_HASH_MISMATCH', 'root does not match'),
    );
  });

  it('refuses a file longer than its parent lists (endless data)', () => {
    const repo = signedRepository();
    const fetched = repo.publish();
    const padded = Buffer.concat([fetched.snapshot, Buffer.from(' '.repeat(1000))]);
    assert.throws(
      () => updateTrustedMetadata(NONE, { ...fetched, snapshot: padded }, context()),
      refuses('NOTARY_HASH_MISMATCH', `snapshot is ${padded.length} bytes`),
    );
  });

  it('refuses a timestamp signed by a key the root does not list for it (NOTARY_KEY_NOT_DELEGATED)', () => {
    const repo = signedRepository();
    const good = repo.publish();
    const forged = signMetadata(JSON.parse(good.timestamp.toString()).signed, [repo.snapshotKey]);
    assert.throws(
      () => updateTrustedMetadata(NONE, { ...good, timestamp: forged }, context()),
      refuses('NOTARY_KEY_NOT_DELEGATED', 'timestamp is signed by'),
    );
  });

  it('refuses a targets file whose signature does not verify (NOTARY_THRESHOLD_NOT_MET)', () => {
    const repo = signedRepository();
    const good = repo.publish();
    // Same key ID, but the signature is over other content.
    const document = JSON.parse(good.targets.get('targets')?.toString() ?? '');
    const other = signMetadata({ ...document.signed, version: 99 }, [repo.targetsKey]);
    document.signatures = JSON.parse(other.toString()).signatures;
    const tampered = Buffer.from(JSON.stringify(document));
    repo.roles.set('targets', { targets: {} });
    const snapshotSigned = JSON.parse(good.snapshot.toString()).signed;
    snapshotSigned.meta.targets = {
      hashes: { sha256: sha256Base64(tampered) },
      length: tampered.length,
    };
    const snapshot = signMetadata(snapshotSigned, [repo.snapshotKey]);
    const timestampSigned = JSON.parse(good.timestamp.toString()).signed;
    timestampSigned.meta.snapshot = {
      hashes: { sha256: sha256Base64(snapshot) },
      length: snapshot.length,
    };
    const timestamp = signMetadata(timestampSigned, [repo.timestampKey]);
    assert.throws(
      () =>
        updateTrustedMetadata(
          NONE,
          { ...good, snapshot, timestamp, targets: new Map([['targets', tampered]]) },
          context(),
        ),
      refuses('NOTARY_THRESHOLD_NOT_MET', 'targets has 0 valid signature(s)'),
    );
  });
});

describe('updateTrustedMetadata: delegations', () => {
  it('skips a delegation signed by a key outside it, and falls back to targets', () => {
    const repo = signedRepository();
    repo.roles.set('targets', {
      targets: { v1: { digestHex: OTHER_DIGEST, length: 1 } },
      delegations: [{ name: 'targets/releases', keys: [ecdsaKey()] }],
    });
    // Signed by the targets key, which the delegation does not list.
    repo.roles.set('targets/releases', {
      targets: { v1: { digestHex: DIGEST, length: 528 } },
      signers: [repo.targetsKey],
    });
    const verified = updateTrustedMetadata(NONE, repo.publish(), context());
    assert.throws(
      () => {
        throw verified.rejected.get('targets/releases');
      },
      refuses('NOTARY_KEY_NOT_DELEGATED', 'its delegation does not list'),
    );
    const target = findTarget(verified, 'v1');
    assert.equal(target?.role, 'targets');
    assert.equal(Buffer.from(target.meta.hashes.get('sha256') ?? []).toString('hex'), OTHER_DIGEST);
  });

  it('skips an expired delegation (NOTARY_EXPIRED)', () => {
    const repo = signedRepository();
    const releases = ecdsaKey();
    repo.roles.set('targets', {
      targets: {},
      delegations: [{ name: 'targets/releases', keys: [releases] }],
    });
    repo.roles.set('targets/releases', {
      targets: { v1: { digestHex: DIGEST, length: 528 } },
      expires: Date.now() - 1000,
    });
    const verified = updateTrustedMetadata(NONE, repo.publish(), context());
    assert.equal(verified.rejected.get('targets/releases')?.code, 'NOTARY_EXPIRED');
    assert.equal(findTarget(verified, 'v1'), undefined);
  });

  it('keeps a delegation to the paths its delegator allows', () => {
    const repo = signedRepository();
    const releases = ecdsaKey();
    const nested = ecdsaKey();
    repo.roles.set('targets', {
      targets: {},
      delegations: [{ name: 'targets/releases', keys: [releases], paths: ['v1'] }],
    });
    repo.roles.set('targets/releases', {
      targets: {
        'v1.0': { digestHex: DIGEST, length: 1 },
        latest: { digestHex: DIGEST, length: 1 },
      },
      delegations: [{ name: 'targets/releases/ci', keys: [nested], paths: ['', 'v1.2'] }],
    });
    repo.roles.set('targets/releases/ci', {
      targets: {
        nightly: { digestHex: DIGEST, length: 1 },
        'v1.2': { digestHex: DIGEST, length: 1 },
      },
    });
    const verified = updateTrustedMetadata(NONE, repo.publish(), context());
    assert.equal(findTarget(verified, 'v1.0')?.role, 'targets/releases');
    assert.equal(findTarget(verified, 'latest'), undefined, 'outside the delegated paths');
    assert.deepEqual(verified.targets.get('targets/releases/ci')?.paths, ['v1.2']);
    assert.equal(findTarget(verified, 'nightly'), undefined, 'the parent restricts the child');
    assert.equal(findTarget(verified, 'v1.2')?.role, 'targets/releases/ci');
  });

  it('refuses a delegation that is not a direct child of its delegator (NOTARY_DELEGATION_INVALID)', () => {
    const repo = signedRepository();
    const key = ecdsaKey();
    repo.roles.set('targets', {
      targets: {},
      delegations: [{ name: 'targets/releases/deep', keys: [key] }],
    });
    repo.roles.set('targets/releases/deep', { targets: { v1: { digestHex: DIGEST, length: 1 } } });
    const verified = updateTrustedMetadata(NONE, repo.publish(), context());
    assert.equal(verified.rejected.get('targets/releases/deep')?.code, 'NOTARY_DELEGATION_INVALID');
    assert.equal(findTarget(verified, 'v1'), undefined);
  });

  it('skips a delegation missing from the snapshot (NOTARY_METADATA_MISSING)', () => {
    const repo = signedRepository();
    repo.roles.set('targets', {
      targets: {},
      delegations: [{ name: 'targets/releases', keys: [ecdsaKey()] }],
    });
    const verified = updateTrustedMetadata(NONE, repo.publish(), context());
    assert.equal(verified.rejected.get('targets/releases')?.code, 'NOTARY_METADATA_MISSING');
  });
});

function sha256Base64(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

describe('updateTrustedMetadata on what notary 0.7.0 served', () => {
  const fixture = (name: string) =>
    new Uint8Array(readFileSync(new URL(`../../test/fixtures/notary/${name}`, import.meta.url)));
  const fixtureGun = '127.0.0.1:5000/test/app';
  // When the fixtures were captured: the server's timestamp lasts 14 days from then.
  const capturedAt = Date.UTC(2026, 10, 22, 4, 42);
  const fetched: FetchedMetadata = {
    root: fixture('root.json'),
    roots: new Map([[2, fixture('2.root.json')]]),
    timestamp: fixture('timestamp.json'),
    snapshot: fixture('snapshot.json'),
    targets: new Map([['targets', fixture('targets.json')]]),
  };
  const OLD_ROOT = '33a88abdbb3900471f7c1d70f82e6a952a134ef1236b089016f2d687b9a4ca28';
  const NEW_ROOT = 'de8e8414bf5c76a568d641975295aa80f74042d5ec74544b1b08a1722c33c8a8';

  it('follows the notary CLI root rotation from the first root and resolves the tag', () => {
    const trusted = { root: fixture('1.root.json'), targets: new Map() };
    const verified = updateTrustedMetadata(trusted, fetched, { gun: fixtureGun, now: capturedAt });
    assert.equal(verified.root.signed.version, 3);
    const target = findTarget(verified, 'v1');
    assert.equal(target?.role, 'targets');
    assert.equal(
      Buffer.from(target.meta.hashes.get('sha256') ?? []).toString('hex'),
      'a'.repeat(64),
    );
    assert.deepEqual(target.signers, [
      'f49c10f4ea9e66ea36618f41c500f054b86b3f86869a8ef9d1436adac442657b',
    ]);
  });

  it('honours pins by canonical root key ID, and refuses the rotated-away key', () => {
    const ctx = (pin: string) => ({ gun: fixtureGun, now: capturedAt, pinnedRootKeys: [pin] });
    assert.equal(updateTrustedMetadata(NONE, fetched, ctx(NEW_ROOT)).root.signed.version, 3);
    assert.throws(
      () => updateTrustedMetadata(NONE, fetched, ctx(OLD_ROOT)),
      refuses('NOTARY_ROOT_NOT_PINNED'),
    );
  });

  it('refuses the repository for another GUN, and after the timestamp expired', () => {
    assert.throws(
      () =>
        updateTrustedMetadata(NONE, fetched, { gun: '127.0.0.1:5000/test/other', now: capturedAt }),
      refuses('NOTARY_ROOT_CERT_INVALID'),
    );
    assert.throws(
      () => updateTrustedMetadata(NONE, fetched, { gun: fixtureGun, now: capturedAt + 15 * DAY }),
      refuses('NOTARY_EXPIRED', 'timestamp'),
    );
  });
});
