/**
 * A signer in its own process, for tests of concurrent signing: signs one
 * image with one key through the library, once the parent writes a line to
 * stdin (so that every child starts writing at the same moment).
 *
 *   node sign-child.ts registry HOST REPOSITORY TAG KEY_FILE
 *   node sign-child.ts layout   PATH TAG KEY_FILE
 *
 * Prints "ready" when loaded, then the SignResult as JSON; exits 0 when the
 * image was signed, 1 otherwise.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createKeySigner } from '../../src/keys/signer.ts';
import { loadPrivateKey } from '../../src/keys/load.ts';
import { cosignDockerReference } from '../../src/formats/simple-signing.ts';
import { RegistryClient } from '../../src/registry/distribution.ts';
import { HttpClient } from '../../src/registry/http.ts';
import { openLayout } from '../../src/registry/layout.ts';
import type { ImageStore } from '../../src/registry/store.ts';
import { signImages } from '../../src/sign/sign.ts';

const [kind, ...rest] = process.argv.slice(2);
let store: ImageStore;
let tag: string;
let keyFile: string;
let dockerReference: string;
let http: HttpClient | undefined;
if (kind === 'registry') {
  const [host, repository, t, k] = rest as [string, string, string, string];
  http = new HttpClient({ retries: 0 });
  store = new RegistryClient(host, { http }).repository(repository);
  tag = t;
  keyFile = k;
  dockerReference = cosignDockerReference({ registry: host, repository });
} else {
  const [path, t, k] = rest as [string, string, string];
  store = await openLayout(path, { create: false });
  tag = t;
  keyFile = k;
  dockerReference = `oci:${path}`;
}
const signer = createKeySigner(await loadPrivateKey(await readFile(keyFile)));

process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
lines.close();

const [result] = await signImages([{ store, target: { tag }, dockerReference }], { signer });
await http?.close();
process.stdout.write(
  `${JSON.stringify(result, (_key, value: unknown) => (value instanceof Error ? { message: value.message, code: (value as { code?: string }).code } : value))}\n`,
);
process.exitCode = result?.ok === true ? 0 : 1;
