/**
 * Writes a small two-platform demo image into an OCI layout, so the
 * quickstart runs on a machine with no registry and no network.
 * Usage: node scripts/demo-image.ts DIR TAG
 */
import { openLayout } from '../src/registry/layout.ts';
import { buildIndex } from '../test/helpers/images.ts';

const [dir, tag] = process.argv.slice(2);
if (dir === undefined || tag === undefined) {
  console.error('usage: node scripts/demo-image.ts DIR TAG');
  process.exit(2);
}
const layout = await openLayout(dir, { create: true });
const image = await buildIndex(layout, { tag, architectures: ['amd64', 'arm64'] });
console.error(`wrote demo image oci:${dir}:${tag} (${image.descriptor.digest})`);
