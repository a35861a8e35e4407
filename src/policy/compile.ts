/**
 * Compiling a validated policy once into an immutable `CompiledPolicy`: keys
 * parsed, globs, regular expressions and CEL conditions compiled, defaults
 * filled in. Pure: the PEM files the policy names are passed in as bytes
 * (`loadPolicyFile` reads them). A key that does not parse is a
 * PolicyError pointing at where the policy names it.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { messageOf } from '../core/errors.ts';
import { predicateTypeUri } from '../formats/predicate-types.ts';
import { parsePublicKeyPem } from '../keys/pem.ts';
import { type TransparencyLog, transparencyLogFromKey } from '../sigstore/trusted-root.ts';
import {
  type CertificateIdentity,
  exactly,
  matchingRegexp,
} from '../sigstore/certificate-identity.ts';
import { pinnedKeyIds } from '../dct/pins.ts';
import { TRUST_STORE_TYPES } from '../formats/notation/trust-policy.ts';
import {
  parseTrustStoreCertificates,
  type TrustedCertificate,
} from '../formats/notation/trust-store-certificates.ts';
import { trustStoreKey } from '../notation/evaluate.ts';
import { NOTATION_STORE_NAME, notationTrustPolicy } from './notation-authority.ts';
import { compileCondition } from './condition.ts';
import { compileImageGlob, compileNamespaceGlob } from './glob.ts';
import { type ParsedPolicy, parsePolicy } from './parse.ts';
import { type PolicyIssue, PolicyError } from './source.ts';
import type {
  AttestationRequirement,
  Authority,
  AuthorityDocument,
  CompiledPolicy,
  CompiledRule,
  GpgAuthority,
  GpgAuthorityDocument,
  NotationAuthority,
  NotationAuthorityDocument,
  PemSource,
  RuleDocument,
} from './types.ts';

/**
 * Compiles `parsed`. `files` holds the bytes of each PEM file the policy
 * names (`parsed.files` with `holds: 'pem'`), by the path as written.
 * Throws PolicyError (`invalid` POLICY_INVALID) for a missing or unusable key.
 */
export function compilePolicy(
  parsed: ParsedPolicy,
  files: ReadonlyMap<string, Uint8Array> = new Map(),
): CompiledPolicy {
  const issues: PolicyIssue[] = [];
  const { document, source } = parsed;
  const pemOf = (pem: PemSource, path: string): Uint8Array | string | undefined => {
    if ('pem' in pem) return pem.pem;
    const bytes = files.get(pem.file);
    if (bytes === undefined) {
      issues.push({ path, ...position(parsed, pem.file), message: `${pem.file} was not read` });
    }
    return bytes;
  };

  const authorities = new Map<string, Authority>();
  for (const [name, authority] of Object.entries(document.authorities ?? {})) {
    const compiled = compileAuthority(name, authority, pemOf, (path, pem, error) =>
      issues.push({
        path,
        ...('file' in pem ? position(parsed, pem.file) : { line: 0, column: 0 }),
        message: messageOf(error),
      }),
    );
    if (compiled !== undefined) authorities.set(name, Object.freeze(compiled));
  }
  if (issues.length > 0) throw new PolicyError('POLICY_INVALID', source, issues);
  const rules = document.rules.map((rule, index) => compileRule(rule, index, authorities));
  return Object.freeze({
    source,
    ...(document.name === undefined ? {} : { name: document.name }),
    document,
    revision: createHash('sha256').update(JSON.stringify(document)).digest('hex'),
    defaultAction: document.defaultAction ?? 'deny',
    authorities,
    rules: Object.freeze(rules),
  });
}

/**
 * Parses and compiles a policy that names no files (inline PEM only, and
 * keyless or notary authorities). Throws PolicyError.
 */
export function compilePolicyText(text: string, source?: string): CompiledPolicy {
  return compilePolicy(parsePolicy(text, source));
}

function position(parsed: ParsedPolicy, file: string) {
  return parsed.files.get(file)?.position ?? { line: 0, column: 0 };
}

function compileAuthority(
  name: string,
  authority: AuthorityDocument,
  pemOf: (pem: PemSource, path: string) => Uint8Array | string | undefined,
  fail: (path: string, pem: PemSource, error: unknown) => void,
): Authority | undefined {
  const path = `authorities.${name}`;
  if ('key' in authority) {
    const { key: document } = authority;
    const sources: [PemSource, string][] =
      'keys' in document
        ? document.keys.map((pem, index) => [pem, `${path}.key.keys[${index}]`])
        : [[document, `${path}.key`]];
    const keys: KeyObject[] = [];
    for (const [source, where] of sources) {
      const pem = pemOf(source, where);
      if (pem === undefined) return undefined;
      try {
        keys.push(
          parsePublicKeyPem(pem, { source: 'file' in source ? source.file : `${where}.pem` }),
        );
      } catch (error) {
        fail(where, source, error);
        return undefined;
      }
    }
    const tlogs: TransparencyLog[] = [];
    for (const [index, source] of (document.rekorKeys ?? []).entries()) {
      const where = `${path}.key.rekorKeys[${index}]`;
      const pem = pemOf(source, where);
      if (pem === undefined) return undefined;
      try {
        const rekorKey = parsePublicKeyPem(pem, {
          source: 'file' in source ? source.file : `${where}.pem`,
        });
        tlogs.push(transparencyLogFromKey(rekorKey));
      } catch (error) {
        fail(where, source, error);
        return undefined;
      }
    }
    const { signedIdentity, rekorKeys } = document;
    return {
      kind: 'key',
      name,
      keys,
      // Logs named by key are the only ones trusted, and a signature must be in one.
      requireTlog: rekorKeys !== undefined || (document.requireTlog ?? false),
      ...(rekorKeys === undefined ? {} : { tlogs }),
      ...(signedIdentity === undefined ? {} : { signedIdentity }),
    };
  }
  if ('keyless' in authority) {
    const k = authority.keyless;
    // Both were validated by parsePolicy; they compile.
    const identity: CertificateIdentity = {
      subject:
        k.identity !== undefined ? exactly(k.identity) : matchingRegexp(k.identityRegExp ?? ''),
      issuer: k.issuer !== undefined ? exactly(k.issuer) : matchingRegexp(k.issuerRegExp ?? ''),
      ...(k.github === undefined ? {} : { github: Object.freeze({ ...k.github }) }),
    };
    return {
      kind: 'keyless',
      name,
      identity: Object.freeze(identity),
      ...(k.trustedRoot === undefined ? {} : { trustedRoot: k.trustedRoot }),
      ...(k.signedIdentity === undefined ? {} : { signedIdentity: k.signedIdentity }),
    };
  }
  if ('notation' in authority) return compileNotation(name, authority.notation, pemOf, fail);
  if ('gpg' in authority) return compileGpg(name, authority.gpg, pemOf);
  const rootKeyIds: string[] = [];
  authority.notary.rootKeys.forEach((root, index) => {
    const where = `${path}.notary.rootKeys[${index}]`;
    const pem = pemOf(root, where);
    if (pem === undefined) return;
    try {
      rootKeyIds.push(
        ...pinnedKeyIds(
          typeof pem === 'string' ? Buffer.from(pem) : pem,
          'file' in root ? root.file : where,
        ),
      );
    } catch (error) {
      fail(where, root, error);
    }
  });
  return {
    kind: 'notary',
    name,
    ...(authority.notary.server === undefined ? {} : { server: authority.notary.server }),
    rootKeyIds: Object.freeze(rootKeyIds),
  };
}

function compileNotation(
  name: string,
  notation: NotationAuthorityDocument['notation'],
  pemOf: (pem: PemSource, path: string) => Uint8Array | string | undefined,
  fail: (path: string, pem: PemSource, error: unknown) => void,
): NotationAuthority | undefined {
  const path = `authorities.${name}.notation`;
  const trustStores = new Map<string, readonly TrustedCertificate[]>();
  let complete = true;
  for (const type of TRUST_STORE_TYPES) {
    const certificates: TrustedCertificate[] = [];
    (notation.trustStore[type] ?? []).forEach((file, index) => {
      const where = `${path}.trustStore.${type}[${index}]`;
      const bytes = pemOf({ file }, where);
      if (bytes === undefined) {
        complete = false;
        return;
      }
      try {
        certificates.push(
          ...parseTrustStoreCertificates(
            type,
            typeof bytes === 'string' ? Buffer.from(bytes) : bytes,
            file,
          ),
        );
      } catch (error) {
        complete = false;
        fail(where, { file }, error);
      }
    });
    if (certificates.length > 0) {
      trustStores.set(trustStoreKey({ type, name: NOTATION_STORE_NAME }), certificates);
    }
  }
  if (!complete) return undefined;
  return {
    kind: 'notation',
    name,
    // Validated by parsePolicy: it builds.
    trustPolicy: notationTrustPolicy(notation, path),
    trustStores,
  };
}

function compileGpg(
  name: string,
  gpg: GpgAuthorityDocument['gpg'],
  pemOf: (pem: PemSource, path: string) => Uint8Array | string | undefined,
): GpgAuthority | undefined {
  const path = `authorities.${name}.gpg`;
  const signedIdentity = gpg.signedIdentity ?? { type: 'matchRepoDigestOrExact' };
  if ('keyData' in gpg) {
    return {
      kind: 'gpg',
      name,
      keyring: [Buffer.from(gpg.keyData)],
      keySource: `${path}.keyData`,
      signedIdentity,
    };
  }
  const keyring: Uint8Array[] = [];
  gpg.keyPaths.forEach((file, index) => {
    const bytes = pemOf({ file }, `${path}.keyPaths[${index}]`);
    if (bytes !== undefined) keyring.push(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
  });
  if (keyring.length !== gpg.keyPaths.length) return undefined;
  // The keys are parsed when first used (loadKeyring is async): see gather.ts.
  return { kind: 'gpg', name, keyring, keySource: gpg.keyPaths.join(', '), signedIdentity };
}

function compileRule(
  rule: RuleDocument,
  index: number,
  authorities: ReadonlyMap<string, Authority>,
): CompiledRule {
  const ruleAuthorities = rule.authorities ?? [];
  // Only key and keyless authorities sign attestations.
  const signers = ruleAuthorities.filter((name) => {
    const kind = authorities.get(name)?.kind;
    return kind === 'key' || kind === 'keyless';
  });
  const attestations: AttestationRequirement[] = (rule.attestations ?? []).map((attestation) => {
    const predicateType = predicateTypeUri(attestation.predicateType);
    return Object.freeze({
      name: attestation.name ?? predicateType,
      predicateType,
      authorities: Object.freeze([...(attestation.authorities ?? signers)]),
      ...(attestation.condition === undefined
        ? {}
        : { condition: compileCondition(attestation.condition) }),
    });
  });
  return Object.freeze({
    name: rule.name,
    index,
    images: Object.freeze(rule.images.map(compileImageGlob)),
    ...(rule.namespaces === undefined
      ? {}
      : { namespaces: Object.freeze(rule.namespaces.map(compileNamespaceGlob)) }),
    action: rule.action ?? 'verify',
    authorities: Object.freeze([...ruleAuthorities]),
    threshold: rule.threshold ?? 1,
    attestations: Object.freeze(attestations),
    mode: rule.mode ?? 'enforce',
    mutateDigest: rule.mutateDigest ?? true,
  });
}
