/**
 * What `fetchNotaryMetadata` asks a notary server for, and in which order,
 * against a server that serves the metadata notary 0.7.0 published
 * (test/fixtures/notary): notary's own sequence (client/tufclient.go,
 * docs/formats.md "How the notary client updates") plus the root versions
 * between the trusted root and the current one.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { HttpClient } from '../src/registry/http.ts';
import { fetchNotaryMetadata } from '../src/dct/gather.ts';
import { NotaryServer } from '../src/dct/notary-server.ts';
import { rejectsWith } from './helpers/assertions.ts';
import { type HostileRegistry, startHostileRegistry } from './helpers/hostile-registry.ts';

const GUN = '127.0.0.1:5000/test/app';
const fixture = (name: string) =>
  new Uint8Array(readFileSync(new URL(`./fixtures/notary/${name}`, import.meta.url)));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('fetchNotaryMetadata', () => {
  let server: HostileRegistry;
  let http: HttpClient;
  let notary: NotaryServer;
  const files = new Map<string, Uint8Array>();

  before(async () => {
    const snapshot = fixture('snapshot.json');
    const targets = fixture('targets.json');
    files.set('root.json', fixture('root.json'));
    files.set('2.root.json', fixture('2.root.json'));
    files.set('timestamp.json', fixture('timestamp.json'));
    files.set(`snapshot.${sha256(snapshot)}.json`, snapshot);
    files.set(`targets.${sha256(targets)}.json`, targets);
    const prefix = `/v2/${GUN}/_trust/tuf/`;
    server = await startHostileRegistry((req, res) => {
      const path = decodeURIComponent(req.url ?? '');
      const body = path.startsWith(prefix) ? files.get(path.slice(prefix.length)) : undefined;
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(body ?? '{"errors":[{"code":"METADATA_NOT_FOUND"}]}');
    });
    http = new HttpClient({ retries: 0 });
    notary = new NotaryServer({ url: new URL(server.url), http });
  });

  after(async () => {
    await http?.close();
    await server?.stop();
  });

  const requested = () =>
    server.requests.map((line) => line.replace(`GET /v2/${GUN}/_trust/tuf/`, ''));

  it('on first use: root.json, timestamp.json, then snapshot and targets by their sha256', async () => {
    server.requests.length = 0;
    const fetched = await fetchNotaryMetadata(notary, GUN, { targets: new Map() });
    assert.deepEqual(requested(), [
      'root.json',
      'timestamp.json',
      `snapshot.${sha256(fixture('snapshot.json'))}.json`,
      `targets.${sha256(fixture('targets.json'))}.json`,
    ]);
    assert.deepEqual(fetched.roots, new Map());
    assert.deepEqual([...fetched.targets.keys()], ['targets']);
  });

  it('with a trusted older root: every root version in between', async () => {
    server.requests.length = 0;
    const fetched = await fetchNotaryMetadata(notary, GUN, {
      root: fixture('1.root.json'),
      targets: new Map(),
    });
    assert.deepEqual(requested().slice(0, 2), ['root.json', '2.root.json']);
    assert.deepEqual([...fetched.roots.keys()], [2]);
  });

  it('refuses more root rotations than allowed, and a repository the server does not know', async () => {
    await rejectsWith(
      fetchNotaryMetadata(
        notary,
        GUN,
        { root: fixture('1.root.json'), targets: new Map() },
        { maxRootRotations: 0 },
      ),
      'NOTARY_ROOT_ROTATION_INVALID',
      'denied',
    );
    await rejectsWith(
      fetchNotaryMetadata(notary, '127.0.0.1:5000/other', { targets: new Map() }),
      'NOTARY_NO_TRUST_DATA',
      'denied',
    );
  });

  it('refuses a root larger than the cap before reading it', async () => {
    await rejectsWith(
      fetchNotaryMetadata(notary, GUN, { targets: new Map() }, { maxRootBytes: 100 }),
      'NOTARY_METADATA_TOO_LARGE',
      'denied',
    );
  });
});
