/**
 * `vouch trust inspect`: what `docker trust inspect` reports about a
 * repository, from verified trust data (docker/cli cli/command/trust/
 * inspect.go, common.go, inspect_pretty.go):
 *
 * - SignedTags: tags in `targets` or `targets/releases` ("released"), each
 *   with the other delegations that sign the same digest as its signers, in
 *   the order notary walks them (breadth-first, as each role lists its
 *   delegations: `repository.targets`' order), or "Repo Admin" when none does
 *   (`matchReleasedSignatures`); tags in natural order;
 * - Signers: every delegation but `targets/releases`, named without
 *   `targets/`, with canonical key IDs, by name descending;
 * - AdministrativeKeys: Root (the key IDs root.json lists) then Repository
 *   (the targets keys).
 *
 * Printed as docker prints them (checked against docker's golden files,
 * https://github.com/docker/cli/tree/v28.2.2/cli/command/trust/testdata):
 * `trustInspectJson` is inspect.go's `inspect.Inspect` with no template
 * (cli/command/inspect/inspector.go: json.Marshal, json.Indent with four
 * spaces, `[]` when nothing was found); `prettyTrust` is inspect_pretty.go,
 * where a tag signed by the targets key alone shows `(Repo Admin)`.
 */
import { type GoStruct, goMarshalIndent } from '../formats/go-json.ts';
import { canonicalKeyId } from '../formats/notary/keys.ts';
import { RELEASES_ROLE, TARGETS_ROLE } from './lookup.ts';
import type { TrustedRepository } from './update.ts';

export const REPO_ADMIN = 'Repo Admin';

export interface TrustKeyInfo {
  readonly ID: string;
}

export interface TrustSignerInfo {
  readonly Name: string;
  readonly Keys: readonly TrustKeyInfo[];
}

export interface TrustTagInfo {
  readonly SignedTag: string;
  /** Hex sha256 of the manifest, without `sha256:`. */
  readonly Digest: string;
  readonly Signers: readonly string[];
}

export interface TrustInspection {
  readonly Name: string;
  readonly SignedTags: readonly TrustTagInfo[];
  readonly Signers: readonly TrustSignerInfo[];
  readonly AdministrativeKeys: readonly TrustSignerInfo[];
}

const released = (role: string) => role === TARGETS_ROLE || role === RELEASES_ROLE;
const signerName = (role: string) =>
  role === TARGETS_ROLE ? REPO_ADMIN : role.replace(/^targets\//, '');

/** `name` is the reference as the user gave it; only `tag` when given. */
export function inspectTrust(
  name: string,
  repository: TrustedRepository,
  tag?: string,
): TrustInspection {
  // notary GetAllTargetMetadataByName: every verified role holding the name, within its paths.
  const signed: { role: string; tag: string; digest: string }[] = [];
  for (const [role, verified] of repository.targets) {
    for (const [target, meta] of verified.metadata.signed.targets) {
      if (tag !== undefined && target !== tag) continue;
      if (!verified.paths.some((prefix) => target.startsWith(prefix))) continue;
      const sha256 = meta.hashes.get('sha256');
      if (sha256 === undefined) continue;
      signed.push({ role, tag: target, digest: Buffer.from(sha256).toString('hex') });
    }
  }
  const rows = new Map<string, TrustTagInfo & { Signers: string[] }>();
  for (const entry of signed) {
    if (released(entry.role)) {
      rows.set(`${entry.tag}\n${entry.digest}`, {
        SignedTag: entry.tag,
        Digest: entry.digest,
        Signers: [],
      });
    }
  }
  for (const entry of signed) {
    const row = rows.get(`${entry.tag}\n${entry.digest}`);
    if (row !== undefined && !released(entry.role)) row.Signers.push(signerName(entry.role));
  }
  const signedTags = [...rows.values()]
    .map((row) => ({
      ...row,
      Signers: row.Signers.length === 0 ? [REPO_ADMIN] : row.Signers,
    }))
    .sort((a, b) => naturalCompare(a.SignedTag, b.SignedTag));

  const signers = new Map<string, TrustSignerInfo>();
  for (const verified of repository.targets.values()) {
    for (const delegation of verified.metadata.signed.delegations) {
      if (delegation.name === RELEASES_ROLE) continue;
      const keys = delegation.keyIds.map((id) => {
        const key = verified.metadata.signed.delegationKeys.get(id);
        return { ID: key === undefined ? id : canonicalKeyId(key) };
      });
      signers.set(signerName(delegation.name), { Name: signerName(delegation.name), Keys: keys });
    }
  }
  const root = repository.root.signed.roles;
  return {
    Name: name,
    SignedTags: signedTags,
    Signers: [...signers.values()].sort((a, b) => (a.Name > b.Name ? -1 : a.Name < b.Name ? 1 : 0)),
    AdministrativeKeys: [
      { Name: 'Root', Keys: root.root.keyIds.map((ID) => ({ ID })) },
      { Name: 'Repository', Keys: root.targets.keyIds.map((ID) => ({ ID })) },
    ],
  };
}

/** github.com/fvbommel/sortorder NaturalLess: runs of digits compare as numbers. */
export function naturalCompare(a: string, b: string): number {
  const chunks = (text: string) => text.match(/\d+|\D+/g) ?? [];
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] as string;
    const q = y[i] as string;
    if (p === q) continue;
    const numeric = /^\d/.test(p) && /^\d/.test(q);
    if (numeric && Number(p) !== Number(q)) return Number(p) - Number(q);
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}

/** What `docker trust inspect` prints for `reports`, the repositories it could inspect. */
export function trustInspectJson(reports: readonly TrustInspection[]): string {
  // common.go trustSigner and trustKey: every field `json:",omitempty"`.
  const signer = (role: TrustSignerInfo): GoStruct => ({
    ...(role.Name === '' ? {} : { Name: role.Name }),
    ...(role.Keys.length === 0
      ? {}
      : { Keys: role.Keys.map((key) => (key.ID === '' ? {} : { ID: key.ID })) }),
  });
  const elements = reports.map((report): GoStruct => ({
    Name: report.Name,
    SignedTags: report.SignedTags.map((row) => ({
      SignedTag: row.SignedTag,
      Digest: row.Digest,
      Signers: row.Signers,
    })),
    Signers: report.Signers.map(signer),
    AdministrativeKeys: report.AdministrativeKeys.map(signer),
  }));
  return `${goMarshalIndent(elements, '    ')}\n`;
}

/** The `--pretty` text docker prints (inspect_pretty.go), for one repository. */
export function prettyTrust(inspection: TrustInspection): string {
  const out: string[] = [];
  const name = inspection.Name;
  if (inspection.SignedTags.length > 0) {
    out.push(`\nSignatures for ${name}\n\n`);
    out.push(
      table(
        ['SIGNED TAG', 'DIGEST', 'SIGNERS'],
        inspection.SignedTags.map((row) => [
          row.SignedTag,
          row.Digest,
          // printSignatures: a tag no delegation signs reads "(Repo Admin)" here, "Repo Admin"
          // in JSON. No signer can be called that: role names are [-a-z0-9_/] (update.ts).
          // formatter.go trustTagContext.Signers sorts them (sort.Strings: bytes, and the
          // names are ASCII).
          [...row.Signers]
            .sort()
            .map((name) => (name === REPO_ADMIN ? `(${REPO_ADMIN})` : name))
            .join(', '),
        ]),
      ),
    );
  } else {
    out.push(`\nNo signatures for ${name}\n\n`);
  }
  if (inspection.Signers.length > 0) {
    out.push(`\nList of signers and their keys for ${name}\n\n`);
    const signers = [...inspection.Signers].sort((a, b) => naturalCompare(a.Name, b.Name));
    out.push(
      table(
        ['SIGNER', 'KEYS'],
        signers.map((signer) => [
          signer.Name,
          signer.Keys.map((key) => key.ID.slice(0, 12)).join(', '),
        ]),
      ),
    );
  }
  out.push(`\nAdministrative keys for ${name}\n\n`);
  const label: Record<string, string> = { Repository: 'Repository Key', Root: 'Root Key' };
  for (const role of [...inspection.AdministrativeKeys].sort((a, b) =>
    a.Name < b.Name ? -1 : 1,
  )) {
    out.push(
      `  ${label[role.Name]}:\t${role.Keys.map((key) => key.ID)
        .sort()
        .join(', ')}\n`,
    );
  }
  return out.join('');
}

/** text/tabwriter with minwidth 10, padding 3 (docker's formatter): the last column unpadded. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) =>
    Math.max(10, ...all.map((row) => (row[column] ?? '').length + 3)),
  );
  return all
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
        )
        .join(''),
    )
    .join('\n')
    .concat('\n');
}
