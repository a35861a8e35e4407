/**
 * The keyring of a compiled gpg authority, parsed once: `compilePolicy` is
 * synchronous and keeps the bytes, openpgp.js parses asynchronously.
 * `loadPolicyFile` asks first, so a keyring without usable keys fails the
 * load; the gather step then reuses the parse.
 */
import { type GpgKeyring, loadKeyring } from '../formats/simple-signing/openpgp.ts';
import type { GpgAuthority } from './types.ts';

const keyrings = new WeakMap<GpgAuthority, Promise<GpgKeyring>>();

/** Throws `invalid` GPG_KEYRING_INVALID for bytes that are not OpenPGP keys. */
export function gpgKeyring(authority: GpgAuthority): Promise<GpgKeyring> {
  let keyring = keyrings.get(authority);
  if (keyring === undefined) {
    keyring = loadKeyring(authority.keyring, authority.keySource);
    keyrings.set(authority, keyring);
  }
  return keyring;
}
