/**
 * `vouch trust key rotate REPO ROLE`, as notary rotates keys
 * (notary client/client.go `RotateKey`, docs/formats.md "How Docker Content
 * Trust uses notary"): the root gets a
 * new version naming the new key and is published at once.
 *
 * - `targets`: a new key in the key store; targets is re-signed with it.
 * - `snapshot`, `timestamp`: the server makes the new key
 *   (`POST {role}.key`) and signs with it from then on.
 * - `root`: a new root key and certificate; the new root is signed by the
 *   new key and by the old one, so clients that trust the old root follow
 *   (`signRootIfNecessary`; TUF: a threshold of the old and of the new keys).
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { invalid } from '../core/errors.ts';
import { createRootCertificate } from '../formats/notary/certificate.ts';
import { publicKeyJson } from '../formats/notary/encode.ts';
import { notaryKeyId } from '../formats/notary/keys.ts';
import { canonicalIdOf, type KeyJson, type RootSignedJson } from './draft.ts';
import { openDraft, publishDraft, serverKeyJson, type TrustWriteOptions } from './publish.ts';

export const ROTATABLE_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type RotatableRole = (typeof ROTATABLE_ROLES)[number];

export interface Rotation {
  readonly gun: string;
  readonly role: RotatableRole;
  /** The new key's ID as root.json lists it. */
  readonly keyId: string;
}

export async function rotateKey(
  gun: string,
  role: RotatableRole,
  options: TrustWriteOptions,
): Promise<Rotation> {
  const { draft, initialised } = await openDraft(gun, options);
  if (initialised)
    throw invalid('NOTARY_NO_TRUST_DATA', `${gun} has no trust data whose keys could rotate`);
  const root = draft.editRoot();
  let key: KeyJson;
  switch (role) {
    case 'targets': {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await options.keyStore.add(privateKey, { role: 'targets', gun });
      key = publicKeyJson('ecdsa', publicKey.export({ format: 'der', type: 'spki' }));
      draft.editTargets('targets');
      break;
    }
    case 'snapshot':
    case 'timestamp': {
      const where = `${options.server.url.host}: ${gun} ${role}.key`;
      key = serverKeyJson(await options.server.rotateServerKey(gun, role), where);
      break;
    }
    case 'root': {
      for (const keyId of root.roles.root.keyids) {
        const json = root.keys[keyId];
        if (json !== undefined)
          draft.extraRootSigners.push({
            keyId,
            canonicalId: canonicalIdOf(json, `root key ${keyId}`),
          });
      }
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await options.keyStore.add(privateKey, { role: 'root' });
      const certificate = createRootCertificate(privateKey, createPublicKey(privateKey), {
        gun,
        now: options.now ?? Date.now(),
      });
      key = publicKeyJson('ecdsa-x509', new TextEncoder().encode(certificate));
      break;
    }
  }
  const keyId = notaryKeyId(key.keytype, Buffer.from(key.keyval.public, 'base64'));
  root.keys[keyId] = key;
  root.roles[role] = { keyids: [keyId], threshold: 1 };
  pruneKeys(root);
  await publishDraft(draft, options);
  return { gun, role, keyId };
}

/** Drops keys no base role lists any more (root.go: keys are only there for roles). */
function pruneKeys(root: RootSignedJson): void {
  const used = new Set(Object.values(root.roles).flatMap((role) => role.keyids));
  for (const id of Object.keys(root.keys)) if (!used.has(id)) delete root.keys[id];
}
