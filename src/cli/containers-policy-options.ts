/**
 * `vouch verify --containers-policy [FILE]`: the flag group (`--registries.d`
 * is registries-d-options.ts's). FILE is optional, as podman users expect the system policy by
 * default, so `argsWithPolicyFile` decides before parsing whether the word
 * after `--containers-policy` is the file: it is when it ends in `.json` or
 * names an existing file (an image reference rarely does either); else the
 * default applies. Defaults follow containers/image (signature/policy_config.go
 * `defaultPolicyPath`; registries.d as simple-signing/registries-d-files.ts
 * finds it): the user's `~/.config/containers/…` when it exists, else
 * `/etc/containers/…`.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { FlagGroup, Options } from './flags.ts';
import type { CliIO } from './io.ts';

const FLAG = '--containers-policy';
const SYSTEM_POLICY = '/etc/containers/policy.json';

const OPTIONS = {
  'containers-policy': { type: 'string' },
} as const satisfies Options;

export interface ContainersPolicySettings {
  readonly policyFile: string;
}

/** Whether `args` ask for a containers policy evaluation. */
export function wantsContainersPolicy(args: readonly string[]): boolean {
  return args.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`));
}

/** `args` with `--containers-policy [FILE]` written as `--containers-policy=FILE` (empty: the default). */
export function argsWithPolicyFile(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (arg !== FLAG) {
      out.push(arg);
      continue;
    }
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith('-') && (next.endsWith('.json') || isFile(next))) {
      out.push(`${FLAG}=${next}`);
      i++;
    } else {
      out.push(`${FLAG}=`);
    }
  }
  return out;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function userOrSystem(io: CliIO, userPath: string, systemPath: string): string {
  const home = io.env.HOME;
  if (home !== undefined && home !== '') {
    const user = join(home, userPath);
    try {
      statSync(user);
      return user;
    } catch {
      // Not there: the system's.
    }
  }
  return systemPath;
}

export const CONTAINERS_POLICY_FLAGS = {
  options: OPTIONS,
  help: `containers/image policy (podman, CRI-O, skopeo, OpenShift):
  vouch verify --containers-policy [FILE] [--registries.d DIR] IMAGE...

Decides each registry image as containers/image's IsRunningImageAllowed
does with a policy.json: the most specific scope of the "docker" transport
(image, repository, namespaces, host, *.domain), else its "" scope, else
"default"; every requirement of it must hold. Evaluated: insecureAcceptAnything,
reject, signedBy with GPG keys (signatures from the registry's signature API
extension or the registries.d lookaside), sigstoreSigned with
keyPath/keyPaths/keyData/keyDatas (and Rekor public keys), fulcio (with Rekor
public keys) or pki, signedIdentity rules. Cosign signatures are read only where
registries.d sets use-sigstore-attachments, as containers/image reads them;
sigstore signatures in the lookaside or API extension count for sigstoreSigned.
Every requirement is reported with why it held or failed.

      --containers-policy [FILE]
                              the policy (default ~/.config/containers/policy.json if it
                              exists, else ${SYSTEM_POLICY}); FILE is taken when it ends
                              in .json or is an existing file`,
  read: (values, io): ContainersPolicySettings => {
    const file = values['containers-policy'];
    return {
      policyFile:
        file === undefined || file === ''
          ? userOrSystem(io, '.config/containers/policy.json', SYSTEM_POLICY)
          : file,
    };
  },
} as const satisfies FlagGroup<typeof OPTIONS, ContainersPolicySettings>;
