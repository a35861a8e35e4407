/**
 * `vouch verify --notary`: the Docker Content Trust path of `vouch verify`,
 * loaded only when `--notary` is given so the `--key` path never loads it.
 * The environment is read here: DOCKER_CONTENT_TRUST_SERVER for the server,
 * as docker does (docker/cli cli/trust/trust.go `Server`).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { invalid } from '../core/errors.ts';
import { readKeyFile } from '../keys/files.ts';
import { parseReference } from '../oci/reference.ts';
import { HttpClient } from '../registry/http.ts';
import { Stores } from '../registry/open.ts';
import { NotaryServer } from '../dct/notary-server.ts';
import { pinnedKeyIds } from '../dct/pins.ts';
import { NotaryMetadataStore } from '../dct/metadata-store.ts';
import { type NotaryVerification, verifyNotaryImage } from '../dct/verify-notary.ts';
import type { CliIO } from './io.ts';
import { notaryServerUrl } from './notary-server-url.ts';
import { writeJson } from './io.ts';
import {
  credentialLookup,
  OUTPUT_OPTIONS,
  outputFormat,
  parseFlags,
  REGISTRY_OPTIONS,
  storeOptions,
} from './options.ts';
import { errorJson, finishVerification, statusLine } from './verify-output.ts';

export async function runNotaryVerify(args: readonly string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...OUTPUT_OPTIONS,
    ...REGISTRY_OPTIONS,
    notary: { type: 'boolean', default: false },
    'notary-server': { type: 'string' },
    'notary-root-key': { type: 'string', multiple: true },
    'trust-dir': { type: 'string' },
  });
  const format = outputFormat(values.output);
  if (positionals.length === 0)
    throw invalid('USAGE', 'vouch verify --notary needs at least one IMAGE:TAG');
  const allowInsecure = values['allow-insecure-registry'];
  const serverFlag = values['notary-server'] ?? io.env.DOCKER_CONTENT_TRUST_SERVER;
  // Everything the user typed is checked before any network traffic.
  const images = positionals.map((image) => {
    const reference = parseReference(image.replace(/^docker:\/\//, ''));
    if (reference.digest !== undefined) {
      throw invalid('USAGE', `${image}: Docker Content Trust signs tags; name a tag, not a digest`);
    }
    return {
      image,
      registry: reference.registry,
      server: notaryServerUrl(serverFlag, reference.registry, allowInsecure),
    };
  });
  const pins: string[] = [];
  for (const path of values['notary-root-key'] ?? []) {
    pins.push(...pinnedKeyIds(await readKeyFile(path, '--notary-root-key'), path));
  }
  const trustStore = new NotaryMetadataStore(
    values['trust-dir'] ?? join(homedir(), '.vouch', 'trust'),
  );
  const options = await storeOptions(io, values, 'short');
  const stores = new Stores(options);
  const http = new HttpClient(options.http);
  const credentials = credentialLookup(io);
  const results: NotaryVerification[] = [];
  try {
    // One after another: each update reads and writes the trust store of its repository.
    for (const { image, registry, server } of images) {
      results.push(
        await verifyNotaryImage(image, stores, {
          server: new NotaryServer({
            url: server,
            http,
            credentials: () => credentials(registry),
            allowInsecure,
          }),
          trustStore,
          ...(pins.length === 0 ? {} : { pinnedRootKeys: pins }),
        }),
      );
    }
  } finally {
    await Promise.all([stores.close(), http.close()]);
  }

  if (format === 'json') {
    writeJson(io, {
      ok: results.every((result) => result.status === 'verified'),
      images: results.map((result) => ({
        image: result.image,
        gun: result.gun,
        tag: result.tag,
        status: result.status,
        digest: result.digest ?? null,
        length: result.length ?? null,
        role: result.role ?? null,
        signers: result.signers ?? [],
        rejectedRoles: result.rejectedRoles,
        error: errorJson(result.error),
      })),
    });
  } else {
    io.stdout.write(results.map(toText).join(''));
  }
  return finishVerification(io, results);
}

function toText(result: NotaryVerification): string {
  const lines = [statusLine(result.image, result.status, result.error)];
  if (result.digest !== undefined)
    lines.push(`  digest: ${result.digest} (${result.length} bytes)`);
  if (result.role !== undefined) {
    lines.push(`  signed by: ${result.role} (keys ${(result.signers ?? []).join(', ')})`);
  }
  for (const rejected of result.rejectedRoles) {
    lines.push(`  role not trusted: ${rejected.role}: ${rejected.code}: ${rejected.message}`);
  }
  return `${lines.join('\n')}\n`;
}
