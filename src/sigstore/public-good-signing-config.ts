/**
 * The Sigstore public-good signing config, shipped with vouch so that keyless
 * signing knows the public-good services before any TUF update: the
 * `signing_config.v0.2.json` target of the public-good TUF repository
 * (https://tuf-repo-cdn.sigstore.dev), byte for byte, from
 * https://github.com/sigstore/root-signing/blob/main/targets/signing_config.v0.2.json
 * (root-signing commit 60cf2ce8b2e45d600dc17c4421e8c751e75772be; its
 * metadata/targets.json version 14 lists the target as 1034 bytes with
 * sha256 9711a6d5375706957a4859af31c5866a4474f81f0544f9f4b76c9c4f4c8a539c,
 * which `public-good-signing-config.test.ts` checks). @sigstore/tuf's
 * seeds.json, which holds the shipped trusted root, carries no signing config.
 *
 * It names fulcio.sigstore.dev, oauth2.sigstore.dev, rekor.sigstore.dev (a
 * Rekor v1 log) and timestamp.sigstore.dev. `vouch trusted-root update`
 * replaces it with the repository's current one, verified through TUF.
 */
import { PUBLIC_GOOD_TUF_URL } from './public-good.ts';
import { parseSigningConfig, type SigningConfig } from './signing-config.ts';

/** Where the shipped document was taken from. */
export const PUBLIC_GOOD_SIGNING_CONFIG_URL =
  'https://github.com/sigstore/root-signing/blob/main/targets/signing_config.v0.2.json';

const DOCUMENT = `{
  "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
  "caUrls": [
    {
      "url": "https://fulcio.sigstore.dev",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2022-04-13T20:06:15.000Z"
      },
      "operator": "sigstore.dev"
    }
  ],
  "oidcUrls": [
    {
      "url": "https://oauth2.sigstore.dev/auth",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2022-04-13T20:06:15.000Z"
      },
      "operator": "sigstore.dev"
    }
  ],
  "rekorTlogUrls": [
    {
      "url": "https://rekor.sigstore.dev",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2021-01-12T11:53:27.000Z"
      },
      "operator": "sigstore.dev"
    }
  ],
  "tsaUrls": [
    {
      "url": "https://timestamp.sigstore.dev/api/v1/timestamp",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2025-07-04T00:00:00Z"
      },
      "operator": "sigstore.dev"
    }
  ],
  "rekorTlogConfig": {
    "selector": "ANY"
  },
  "tsaConfig": {
    "selector": "ANY"
  }
}
`;

let parsed: SigningConfig | undefined;

/** The shipped document's exact bytes. */
export function publicGoodSigningConfigBytes(): Uint8Array {
  return new TextEncoder().encode(DOCUMENT);
}

/** The public-good signing config, parsed on first use. */
export function publicGoodSigningConfig(): SigningConfig {
  parsed ??= parseSigningConfig(
    publicGoodSigningConfigBytes(),
    `the public-good signing config shipped with vouch (from ${PUBLIC_GOOD_TUF_URL})`,
  );
  return parsed;
}
