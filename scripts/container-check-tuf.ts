/**
 * A TUF repository serving a Sigstore trusted root on 127.0.0.1, for
 * scripts/container-check.sh (`vouch trusted-root update` in the container):
 * writes the repository and its initial root to DIR/repository and
 * DIR/root.json, prints the URL, and serves until killed.
 *
 * Usage: node scripts/container-check-tuf.ts DIR
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestLog, trustedRootJson } from '../test/helpers/rekor.ts';
import { serveDirectory, TestTufRepository } from '../test/helpers/tuf-repository.ts';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: container-check-tuf.ts DIR');
const repository = new TestTufRepository(join(dir, 'repository'));
await writeFile(join(dir, 'root.json'), await repository.writeRoot(1));
await repository.publish(trustedRootJson([createTestLog('https://rekor.container-check.test')]), {
  targetsVersion: 1,
  snapshotVersion: 1,
  timestampVersion: 1,
});
const server = await serveDirectory(repository.dir);
process.stdout.write(`${server.url}\n`);
// The server does not keep the process alive (it is unref'd); this does, until SIGTERM.
setInterval(() => undefined, 1 << 30);
