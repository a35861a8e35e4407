/**
 * The notary flags: `--notary-server` (verify --notary, vouch trust) and the
 * rest of `vouch verify --notary`'s, kept apart from the trust code so the
 * `--key` path, which shows this help, loads none of it. The environment is
 * read here: DOCKER_CONTENT_TRUST_SERVER for the server, as docker does
 * (docker/cli cli/trust/trust.go `Server`).
 */
import type { FlagGroup, Options } from './flags.ts';

const NOTARY_SERVER_OPTIONS = { 'notary-server': { type: 'string' } } as const satisfies Options;

/** The notary server named by the flag or the environment; undefined: docker's default for the registry. */
export const NOTARY_SERVER_FLAGS = {
  options: NOTARY_SERVER_OPTIONS,
  help: `      --notary-server URL   the notary server (default $DOCKER_CONTENT_TRUST_SERVER, else
                            https://notary.docker.io for docker.io, else https://REGISTRY)`,
  read: (values, io): string | undefined =>
    values['notary-server'] ?? io.env.DOCKER_CONTENT_TRUST_SERVER,
} as const satisfies FlagGroup<typeof NOTARY_SERVER_OPTIONS, string | undefined>;

const NOTARY_OPTIONS = {
  ...NOTARY_SERVER_OPTIONS,
  notary: { type: 'boolean', default: false },
  'notary-root-key': { type: 'string', multiple: true },
} as const satisfies Options;

export interface NotarySettings {
  /** The notary server asked for; undefined: docker's default for the registry. */
  readonly server: string | undefined;
  /** --notary-root-key files. */
  readonly rootKeys: readonly string[];
}

/** `vouch verify --notary`'s flags (with the trust directory's, TRUST_DIR_FLAGS). */
export const NOTARY_FLAGS = {
  options: NOTARY_OPTIONS,
  help: `Docker Content Trust (Notary v1):
  vouch verify --notary [--notary-server URL] [--notary-root-key FILE] IMAGE:TAG...

Resolves each tag through the repository's TUF metadata on a notary server as
docker does (targets/releases first, then targets), refusing rollback, expired
(frozen) metadata, mix-and-match, oversized data, too few signatures and keys
outside a delegation; then checks that the registry serves exactly the signed
digest and length for the tag. The first root seen for a repository is trusted
and kept in the trust directory (trust on first use); later roots must chain
from it. A pinned root key (--notary-root-key, or
<trust-dir>/tuf/<repository>/pinned-root-keys.pem) must sign the root, so a root
rotated away from it fails.

      --notary                  verify through Docker Content Trust
      --notary-server URL       the notary server (default $DOCKER_CONTENT_TRUST_SERVER,
                                else https://notary.docker.io for docker.io, else
                                https://REGISTRY)
      --notary-root-key FILE    pin the repository's root: a PEM certificate or public
                                key that must sign it; repeatable
      --trust-dir DIR           where trusted metadata is kept (default ~/.vouch/trust)`,
  read: (values, io): NotarySettings => ({
    server: NOTARY_SERVER_FLAGS.read(values, io),
    rootKeys: values['notary-root-key'] ?? [],
  }),
} as const satisfies FlagGroup<typeof NOTARY_OPTIONS, NotarySettings>;
