/**
 * What `vouch trust` reads from the environment: where keys live and their
 * passphrases. Keys are written to vouch's trust directory and read from it
 * and from docker's (`$DOCKER_CONFIG/trust`, default ~/.docker/trust), so
 * keys made by `docker trust` or the notary CLI keep working.
 *
 * Passphrases (docker/cli cli/trust/trust.go `GetPassphraseRetriever`):
 * $DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE for root keys,
 * $DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE for the others; then the
 * notary CLI's $NOTARY_{ROOT,TARGETS,SNAPSHOT,DELEGATION}_PASSPHRASE
 * (cmd/notary/main.go `getPassphraseRetriever`); then a prompt on the
 * terminal (twice for a new key).
 */
import { invalid } from '../core/errors.ts';
import { NotaryKeyStore, type PassphraseRequest } from '../dct/key-store.ts';
import type { CliIO } from './io.ts';
import type { CliDirs } from './context.ts';
import { promptHidden } from './prompt.ts';

/** Keys written to vouch's trust directory, read from it and from docker's. */
export function trustKeyStore(io: CliIO, dirs: CliDirs): NotaryKeyStore {
  return new NotaryKeyStore({
    dirs: [dirs.trust, dirs.dockerTrust],
    passphrase: (request) => trustPassphrase(io, request),
  });
}

function variables(role: string): string[] {
  switch (role) {
    case 'root':
      return ['DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE', 'NOTARY_ROOT_PASSPHRASE'];
    case 'targets':
      return ['DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE', 'NOTARY_TARGETS_PASSPHRASE'];
    case 'snapshot':
      return ['DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE', 'NOTARY_SNAPSHOT_PASSPHRASE'];
    default:
      return ['DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE', 'NOTARY_DELEGATION_PASSPHRASE'];
  }
}

/** The passphrase of a key: from the environment, else asked at the terminal. */
export async function trustPassphrase(io: CliIO, request: PassphraseRequest): Promise<string> {
  const names = variables(request.role);
  for (const name of names) {
    const value = io.env[name];
    if (value !== undefined) return value;
  }
  const what =
    request.keyId === ''
      ? `${request.role} key`
      : `${request.role} key ${request.keyId.slice(0, 7)}`;
  if (io.stdin.isTTY !== true) {
    throw invalid(
      'PASSWORD_REQUIRED',
      `a passphrase is needed for the ${what} (${request.source}) and there is no terminal to ask for one: set ${names.join(' or ')}`,
    );
  }
  if (!request.creating) return promptHidden(io, `Enter passphrase for ${what}: `);
  const first = await promptHidden(io, `Enter passphrase for new ${what}: `);
  if ((await promptHidden(io, `Repeat passphrase for new ${what}: `)) !== first) {
    throw invalid('PASSWORD_MISMATCH', 'the two passphrases typed do not match');
  }
  return first;
}
