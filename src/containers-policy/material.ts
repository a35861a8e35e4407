/**
 * The trusted material a policy.json requirement names, read before the
 * decision (docs/design.md principle 2): `keyPath`/`keyPaths` files and
 * `keyData`/`keyDatas` bytes parsed as public keys, Rekor public keys as
 * transparency logs. containers/image reads them in `prepareTrustRoot`
 * (signature/policy_eval_sigstore.go: `cryptoutils.UnmarshalPEMToPublicKey`,
 * Rekor keys must be ECDSA). A file that cannot be read or is not a key
 * makes upstream reject the image; vouch reports it as the caller's input
 * (`invalid` CONTAINERS_POLICY_FILE_INVALID), naming the requirement.
 *
 * GPG keyrings of `signedBy` (keyType GPGKeys) are loaded with
 * formats/simple-signing/openpgp.ts (binary or armored, capped); one that
 * cannot be read is `invalid` GPG_KEYRING_INVALID.
 *
 * `fulcio` CAs and `pki` roots and intermediates are PEM certificates
 * (prepareTrustRoot: `x509.CertPool.AppendCertsFromPEM`, which must find one).
 */
import type { KeyObject } from 'node:crypto';
import { readFileCapped } from '../simple-signing/files.ts';
import { invalid, messageOf } from '../core/errors.ts';
import type {
  MaterialSource,
  PolicyRequirement,
} from '../formats/containers-policy/policy-json.ts';
import { parsePublicKeyPem } from '../keys/pem.ts';
import { transparencyLogFromKey, type TransparencyLog } from '../sigstore/trusted-root.ts';
import type { GpgKeyring } from '../formats/simple-signing/openpgp.ts';
import type { FulcioRoot, PkiRoot } from './certificate-signer.ts';
import type { NotationCertificate } from '../formats/notation/x509.ts';
import './error-codes.ts';

/** A key file is a PEM key or a keyring; larger than this is not one. */
export const MAX_KEY_FILE_BYTES = 8 * 1024 * 1024;

/** Reads a whole file of at most `maxBytes`; `undefined`-free errors name `what`. */
export type ReadFile = (path: string, maxBytes: number) => Promise<Uint8Array>;

/** A requirement with what it needs from disk, ready for the pure decision. */
export type PreparedRequirement =
  | {
      readonly requirement: Exclude<PolicyRequirement, { type: 'sigstoreSigned' | 'signedBy' }>;
    }
  | {
      readonly requirement: Extract<PolicyRequirement, { type: 'signedBy' }>;
      /** The GPG keys, for keyType GPGKeys; absent for the keyTypes upstream never evaluates. */
      readonly keyring?: GpgKeyring;
    }
  | {
      readonly requirement: Extract<PolicyRequirement, { type: 'sigstoreSigned' }>;
      readonly keys: readonly KeyObject[];
      /** Present when the requirement names Rekor keys: signatures must then be logged. */
      readonly rekor?: readonly TransparencyLog[];
      /** For `fulcio`: the CAs, the identity and the Rekor logs (keys is then empty). */
      readonly fulcio?: FulcioRoot;
      /** For `pki`: roots, intermediates and the identity (keys is then empty). */
      readonly pki?: PkiRoot;
    };

/** Reads a file with a size cap; `invalid` CONTAINERS_POLICY_FILE_INVALID when it cannot. */
export const readCappedFile: ReadFile = async (path, maxBytes) => {
  const bytes = await readFileCapped(path, maxBytes, {
    tooLarge: () =>
      invalid('CONTAINERS_POLICY_FILE_INVALID', `${path} is larger than ${maxBytes} bytes`),
    unreadable: (problem, cause) =>
      invalid('CONTAINERS_POLICY_FILE_INVALID', `cannot read ${path}: it ${problem}`, { cause }),
  });
  if (bytes === undefined) {
    throw invalid('CONTAINERS_POLICY_FILE_INVALID', `cannot read ${path}: no such file`);
  }
  return bytes;
};

/**
 * Prepares each requirement; `where` names the policy section for messages
 * (e.g. `transports.docker["example.com"]`).
 */
export async function prepareRequirements(
  requirements: readonly PolicyRequirement[],
  where: string,
  readFile: ReadFile = readCappedFile,
): Promise<PreparedRequirement[]> {
  const prepared: PreparedRequirement[] = [];
  for (const [index, requirement] of requirements.entries()) {
    const path = `${where}[${index}]`;
    switch (requirement.type) {
      case 'sigstoreSigned': {
        if (requirement.pki !== undefined) {
          const { pki } = requirement;
          const roots = await certificates(pki.caRoots, `${path} pki CA roots`, readFile);
          const intermediates =
            pki.caIntermediates === undefined
              ? []
              : await certificates(pki.caIntermediates, `${path} pki CA intermediates`, readFile);
          prepared.push({
            requirement,
            keys: [],
            pki: {
              roots,
              intermediates,
              subjectEmail: pki.subjectEmail,
              subjectHostname: pki.subjectHostname,
            },
          });
          break;
        }
        const keyBytes =
          requirement.keys === undefined ? [] : await materialBytes(requirement.keys, readFile);
        const keys = keyBytes.map(({ bytes, name }) => publicKey(bytes, `${path} key ${name}`));
        if (requirement.rekorPublicKeys === undefined) {
          prepared.push({ requirement, keys });
          break;
        }
        const rekorBytes = await materialBytes(requirement.rekorPublicKeys, readFile);
        const rekor = rekorBytes.map(({ bytes, name }) => {
          const key = publicKey(bytes, `${path} Rekor public key ${name}`);
          if (key.asymmetricKeyType !== 'ec') {
            throw invalid(
              'CONTAINERS_POLICY_FILE_INVALID',
              `${path}: Rekor public key ${name} is not using ECDSA`,
            );
          }
          return transparencyLogFromKey(key);
        });
        const { fulcio } = requirement;
        if (fulcio === undefined) {
          prepared.push({ requirement, keys, rekor });
          break;
        }
        const cas = await certificates(fulcio.ca, `${path} fulcio CA`, readFile);
        prepared.push({
          requirement,
          keys,
          rekor,
          fulcio: { cas, oidcIssuer: fulcio.oidcIssuer, subjectEmail: fulcio.subjectEmail, rekor },
        });
        break;
      }
      case 'signedBy': {
        if (requirement.keyType !== 'GPGKeys') {
          prepared.push({ requirement });
          break;
        }
        const blobs = await materialBytes(requirement.keys, readFile);
        // openpgp.js is loaded only for a policy that asks for GPG keys.
        const { loadKeyring } = await import('../formats/simple-signing/openpgp.ts');
        const keyring = await loadKeyring(
          blobs.map(({ bytes }) => bytes),
          `${path} (${blobs.map(({ name }) => name).join(', ')})`,
        );
        prepared.push({ requirement, keyring });
        break;
      }
      default:
        prepared.push({ requirement });
    }
  }
  return prepared;
}

/**
 * `prepareRequirements` remembered by section for the life of the returned
 * function (one verification call with one policy): every image of a scope
 * shares its keys, so a run over many images reads and parses each key file
 * once (openpgp.js keyring parsing, and the capped read, cost more than the
 * verification itself). A section that failed fails alike for each image.
 */
export function requirementPreparer(
  readFile: ReadFile = readCappedFile,
): (requirements: readonly PolicyRequirement[], where: string) => Promise<PreparedRequirement[]> {
  const prepared = new Map<string, Promise<PreparedRequirement[]>>();
  return (requirements, where) => {
    let entry = prepared.get(where);
    if (entry === undefined) {
      entry = prepareRequirements(requirements, where, readFile);
      prepared.set(where, entry);
    }
    return entry;
  };
}

interface NamedBytes {
  readonly bytes: Uint8Array;
  /** The file, or `keyData` / `keyDatas[i]`, for messages. */
  readonly name: string;
}

async function materialBytes(source: MaterialSource, readFile: ReadFile): Promise<NamedBytes[]> {
  switch (source.kind) {
    case 'path':
      return [{ bytes: await readFile(source.path, MAX_KEY_FILE_BYTES), name: source.path }];
    case 'paths': {
      const out: NamedBytes[] = [];
      for (const path of source.paths) {
        out.push({ bytes: await readFile(path, MAX_KEY_FILE_BYTES), name: path });
      }
      return out;
    }
    case 'data':
      return [{ bytes: source.data, name: '(inline data)' }];
    case 'datas':
      return source.datas.map((bytes, index) => ({ bytes, name: `(inline data ${index + 1})` }));
  }
}

function publicKey(bytes: Uint8Array, what: string): KeyObject {
  try {
    return parsePublicKeyPem(bytes, { source: what });
  } catch (error) {
    throw invalid('CONTAINERS_POLICY_FILE_INVALID', `${what}: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** The PEM certificates of a CA source; at least one, as `AppendCertsFromPEM` must add one. */
async function certificates(
  source: MaterialSource,
  what: string,
  readFile: ReadFile,
): Promise<NotationCertificate[]> {
  const [named] = await materialBytes(source, readFile);
  const name = `${what} ${named?.name ?? ''}`;
  // pkijs (certificate-signer.ts) is loaded only for a policy with fulcio or pki CAs.
  const { certificatesOfPem } = await import('./certificate-signer.ts');
  let found: NotationCertificate[];
  try {
    found = certificatesOfPem(named?.bytes ?? new Uint8Array(), name);
  } catch (error) {
    throw invalid('CONTAINERS_POLICY_FILE_INVALID', `${name}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (found.length === 0) {
    throw invalid('CONTAINERS_POLICY_FILE_INVALID', `${name}: no PEM certificate found`);
  }
  return found;
}
