/**
 * Runs vouch's keyless bundle verification (`sigstore/keyless.ts
 * verifyBundle`) over the sigstore-conformance bundle-verify corpus
 * (sigstore/sigstore-conformance test/assets/bundle-verify), a developer
 * tool, not part of `npm test` (docs/conformance.md).
 *
 * Usage: node scripts/sigstore-conformance.ts DIR...
 *
 * Each DIR is a case directory (it holds `bundle.sigstore.json`) or a
 * directory of them. A case follows the corpus README:
 * - `bundle.sigstore.json`, the bundle; a name ending in `_fail` must fail;
 * - `artifact`, what was signed (default `../a.txt` beside the case): the
 *   bytes of a message-signature bundle, the subject of a DSSE statement;
 * - `identity` and `issuer`, matched exactly (default the conformance
 *   beacon workflow and GitHub Actions' issuer);
 * - `trusted_root.json` (default the Sigstore public-good root shipped with
 *   vouch), read by `parseTrustedRoot` and `keylessTrustOf`, so a root vouch
 *   refuses fails the case;
 * - `key.pub`: a managed-key case, skipped: vouch verifies key-signed
 *   bundles only in OCI referrers, where the key decides and log entries are
 *   not checked, which is not what these cases test;
 * - `subject-digest` (vouch's own, for bundles about an image rather than a
 *   file): the digest the DSSE statement's subject must carry.
 *
 * A DSSE statement must name the artifact's SHA-256 as a subject, as the
 * conformance clients' verification policy requires; vouch checks the same
 * against the image digest (verify/attestation-evaluate.ts DIGEST_MISMATCH).
 *
 * Prints PASS (the outcome expected), FAIL (not) or SKIP per case, then a
 * summary; exits 1 when any case had an unexpected outcome.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isVouchError, messageOf } from '../src/core/errors.ts';
import { parseStatement } from '../src/formats/in-toto.ts';
import { parseBundle } from '../src/formats/sigstore-bundle-reader.ts';
import { exactly } from '../src/sigstore/certificate-identity.ts';
import { verifyBundle } from '../src/sigstore/keyless.ts';
import { keylessTrustOf } from '../src/sigstore/keyless-trust.ts';
import { publicGoodTrustedRoot } from '../src/sigstore/public-good.ts';
import { parseTrustedRoot, type TrustedRoot } from '../src/sigstore/trusted-root.ts';

const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

type Outcome =
  | { readonly kind: 'verified'; readonly detail: string }
  | { readonly kind: 'failed'; readonly detail: string }
  | { readonly kind: 'skipped'; readonly detail: string };

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The case directories under `dir`: itself, or its subdirectories holding a bundle. */
async function casesIn(dir: string): Promise<string[]> {
  if (await isFile(join(dir, 'bundle.sigstore.json'))) return [dir];
  const entries = await readdir(dir, { withFileTypes: true });
  const cases: string[] = [];
  for (const entry of entries.toSorted((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && (await isFile(join(path, 'bundle.sigstore.json')))) {
      cases.push(path);
    }
  }
  return cases;
}

async function runCase(dir: string): Promise<Outcome> {
  if (await isFile(join(dir, 'key.pub'))) {
    return {
      kind: 'skipped',
      detail: 'managed key (key.pub): vouch checks key-signed bundles only as OCI referrers',
    };
  }
  const text = async (name: string, fallback: string) =>
    (await readOptional(join(dir, name)))?.toString('utf8').trim() ?? fallback;
  const identity = {
    subject: exactly(await text('identity', DEFAULT_IDENTITY)),
    issuer: exactly(await text('issuer', DEFAULT_ISSUER)),
  };
  const artifact =
    (await readOptional(join(dir, 'artifact'))) ??
    (await readOptional(join(dirname(dir), 'a.txt')));
  const subjectDigest = await readOptional(join(dir, 'subject-digest'));

  const failed = (detail: string): Outcome => ({ kind: 'failed', detail });
  try {
    const rootBytes = await readOptional(join(dir, 'trusted_root.json'));
    const root: TrustedRoot =
      rootBytes === undefined
        ? await publicGoodTrustedRoot()
        : parseTrustedRoot(new Uint8Array(rootBytes), 'trusted_root.json');
    const trust = keylessTrustOf(root, 'trusted_root.json');
    const bundle = parseBundle(
      new Uint8Array(await readFile(join(dir, 'bundle.sigstore.json'))),
      'bundle.sigstore.json',
    );
    const isDsse = bundle.content.kind === 'dsse-envelope';
    if (!isDsse && artifact === undefined) return failed('a message signature needs the artifact');
    const content = isDsse || artifact === undefined ? undefined : new Uint8Array(artifact);
    const result = verifyBundle(bundle.bundle, content, trust, identity);
    if (!result.ok) return failed(`${result.code}: ${result.message}`);
    if (bundle.content.kind === 'dsse-envelope') {
      const statement = parseStatement(bundle.content.envelope.payload, 'the DSSE envelope');
      const wanted =
        subjectDigest !== undefined
          ? subjectDigest.toString('utf8').trim()
          : artifact === undefined
            ? undefined
            : `sha256:${createHash('sha256').update(artifact).digest('hex')}`;
      if (wanted !== undefined) {
        const [algorithm, hex] = wanted.split(':');
        const named = statement.subjects.some(
          (subject) => algorithm !== undefined && subject.digest[algorithm] === hex,
        );
        if (!named) return failed(`DIGEST_MISMATCH: no subject of the statement is ${wanted}`);
      }
    }
    const when = new Date(result.signingTime * 1000).toISOString();
    return {
      kind: 'verified',
      detail: `${result.claims.subject} (${result.claims.issuer}) at ${when}`,
    };
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return failed(`${error.code}: ${messageOf(error)}`);
  }
}

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: node scripts/sigstore-conformance.ts DIR...');
  process.exit(2);
}
const counts = { pass: 0, fail: 0, skip: 0 };
const unexpected: string[] = [];
for (const dir of dirs) {
  for (const path of await casesIn(dir)) {
    const name = basename(path);
    const mustFail = name.endsWith('_fail');
    const outcome = await runCase(path);
    let status: 'PASS' | 'FAIL' | 'SKIP';
    if (outcome.kind === 'skipped') status = 'SKIP';
    else status = (outcome.kind === 'failed') === mustFail ? 'PASS' : 'FAIL';
    counts[status.toLowerCase() as keyof typeof counts]++;
    if (status === 'FAIL') unexpected.push(name);
    const expected = mustFail ? 'must fail' : 'must verify';
    console.log(`${status} ${name} (${expected}; ${outcome.kind}): ${outcome.detail}`);
  }
}
console.log(
  `\n${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped` +
    (unexpected.length > 0 ? `; unexpected: ${unexpected.join(', ')}` : ''),
);
process.exit(unexpected.length > 0 ? 1 : 0);
