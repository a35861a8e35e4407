/**
 * TLS to a real registry: trusted through --ca-file, refused without it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Stores } from '../src/registry/open.ts';
import { runVouch } from './helpers/cli.ts';
import { buildImage } from './helpers/images.ts';
import { createTlsCertificate, type RunningRegistry, startRegistry } from './helpers/registry.ts';

describe('registry over TLS', () => {
  let dir: string;
  let certFile: string;
  let registry: RunningRegistry;
  let digest: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-tls-'));
    const tls = await createTlsCertificate(dir);
    certFile = tls.certFile;
    registry = await startRegistry({ tls });
    const { readFile } = await import('node:fs/promises');
    const stores = new Stores({ http: { ca: await readFile(certFile, 'utf8') } });
    try {
      const opened = await stores.openImage(`${registry.host}/tls/app:1.0`);
      digest = (await buildImage(opened.store, { tag: '1.0' })).descriptor.digest;
    } finally {
      await stores.close();
    }
  });
  after(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('--ca-file makes a registry with a private CA trusted', async () => {
    const run = await runVouch(['digest', '--ca-file', certFile, `${registry.host}/tls/app:1.0`]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${digest}\n`);
  });

  test('without the CA the certificate is refused: could not check (exit 3), naming the registry', async () => {
    const run = await runVouch(['digest', `${registry.host}/tls/app:1.0`]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, new RegExp(registry.host.replace('.', '\\.')));
    assert.match(run.stderr, /certificate|self.signed|TLS/i);
  });

  test('an unreadable --ca-file is invalid input', async () => {
    const run = await runVouch([
      'digest',
      '--ca-file',
      join(dir, 'missing.pem'),
      `${registry.host}/tls/app:1.0`,
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /missing\.pem/);
  });
});
