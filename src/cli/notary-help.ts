/** The `--notary` part of `vouch verify --help`, apart so the `--key` path loads none of the trust code. */
export const NOTARY_HELP = `Docker Content Trust (Notary v1):
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
      --trust-dir DIR           where trusted metadata is kept (default ~/.vouch/trust)`;
