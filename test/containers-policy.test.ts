/**
 * `vouch verify --containers-policy` against the peer it imitates: the same
 * policy.json and registries.d decided by skopeo 1.9.3
 * (`skopeo copy --policy P --registries.d D docker://... dir:...`, which runs
 * containers/image's IsRunningImageAllowed before copying) and by vouch,
 * over images in a real Distribution registry on 127.0.0.1 signed
 * differently (vouch sign --key with the trusted key, with another key,
 * unsigned) and GPG-signed by `skopeo copy --sign-by` into a file://
 * lookaside (a throwaway GNUPGHOME). Both sides are asserted against the expected allow/deny, image
 * by image, so a disagreement shows which side moved.
 *
 * Debian's skopeo 1.9.3 is built without sigstore support: it refuses every
 * image a `sigstoreSigned` requirement applies to ("Debian-local change:
 * sigstore disabled", or "no signature exists" when it finds none). For
 * those images the test checks that skopeo refuses for that reason and that
 * vouch decides as containers/image's own tests say it should
 * (src/containers-policy/evaluate.test.ts ports them); scope choice,
 * insecureAcceptAnything, reject and policy parsing are compared outright.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { encryptCosignKey } from '../src/keys/cosign-key.ts';
import { generateKeyPair } from '../src/keys/generate.ts';
import { publicKeyToPem } from '../src/keys/pem.ts';
import { RegistryClient } from '../src/registry/distribution.ts';
import { HttpClient } from '../src/registry/http.ts';
import { runVouch } from './helpers/cli.ts';
import { buildImage } from './helpers/images.ts';
import { type RunningRegistry, startRegistry } from './helpers/registry.ts';

const execFileP = promisify(execFile);
const SKOPEO = '/usr/bin/skopeo';
const GPG = '/usr/bin/gpg';
const skip = !existsSync(SKOPEO)
  ? `skopeo is not installed at ${SKOPEO}`
  : !existsSync(GPG)
    ? `gpg is not installed at ${GPG}`
    : false;

interface Case {
  readonly image: string;
  readonly allowed: boolean;
  /** Decided by a sigstoreSigned requirement, which Debian's skopeo 1.9.3 cannot evaluate. */
  readonly sigstore?: true;
  /** Why, for the failure message. */
  readonly why: string;
}

describe('containers-policy.json: vouch and skopeo 1.9.3 decide alike', { skip }, () => {
  let registry: RunningRegistry;
  let http: HttpClient;
  let tmp: string;
  let policyFile: string;
  let registriesD: string;
  const cases: Case[] = [];
  let pinnedScope = '';
  let lookaside = '';
  const env = () => ({ DOCKER_CONFIG: join(tmp, 'no-docker-config'), VOUCH_PASSWORD: 'pw' });

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vouch-containers-policy-'));
    registry = await startRegistry();
    http = new HttpClient({ retries: 0 });
    const client = new RegistryClient(registry.host, { http });
    const host = registry.host;

    const trusted = await generateKeyPair();
    const other = await generateKeyPair();
    const keyFile = async (name: string, pair: typeof trusted) => {
      const path = join(tmp, `${name}.key`);
      await writeFile(path, await encryptCosignKey(pair.privateKey, 'pw', { scryptCost: 32768 }), {
        mode: 0o600,
      });
      await writeFile(join(tmp, `${name}.pub`), publicKeyToPem(pair.publicKey));
      return path;
    };
    const trustedKey = await keyFile('trusted', trusted);
    const otherKey = await keyFile('other', other);

    const push = async (repository: string) => {
      const image = await buildImage(client.repository(repository), { tag: '1' });
      return { ref: `${host}/${repository}:1`, digest: image.descriptor.digest };
    };
    const sign = async (key: string, ref: string) => {
      const run = await runVouch(['sign', '--key', key, ref], { env: env() });
      assert.equal(run.code, 0, run.stderr);
    };

    // GPG: a throwaway GNUPGHOME; skopeo signs into a file:// lookaside.
    const gnupgHome = join(tmp, 'gnupg');
    await mkdir(gnupgHome, { mode: 0o700 });
    const gpgEnv = { ...process.env, GNUPGHOME: gnupgHome, HOME: tmp };
    await execFileP(
      GPG,
      [
        '--batch',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        '',
        '--quick-gen-key',
        'vouch test <test@example.com>',
        'rsa2048',
        'sign',
        'never',
      ],
      { env: gpgEnv },
    );
    const listing = await execFileP(GPG, ['--batch', '--with-colons', '--list-keys'], {
      env: gpgEnv,
    });
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing.stdout)?.[1];
    assert.ok(fingerprint, listing.stdout);
    const exported = await execFileP(GPG, ['--batch', '--export', fingerprint], {
      env: gpgEnv,
      encoding: 'buffer',
    });
    await writeFile(join(tmp, 'gpg-key.gpg'), exported.stdout);
    lookaside = join(tmp, 'lookaside');
    await mkdir(lookaside);

    const open = await push('open/unsigned');
    const signed = await push('app/signed');
    await sign(trustedKey, signed.ref);
    const unsigned = await push('app/unsigned');
    const otherSigned = await push('app/other-key');
    await sign(otherKey, otherSigned.ref);
    const exact = await push('exact/signed');
    await sign(trustedKey, exact.ref);
    const noAttachments = await push('no-attachments/signed');
    await sign(trustedKey, noAttachments.ref);
    const rejected = await push('rejected/unsigned');
    const elsewhere = await push('elsewhere/unsigned');

    // Scope choice, decided by both: most specific first, *.0.1 is the
    // wildcard of host 127.0.0.1 (the port is dropped before wildcards).
    const wild = await push('wild/unsigned');
    const nsOther = await push('ns/other');
    const nsApp = await push('ns/app');
    await buildImage(client.repository('ns/app'), { tag: 'blocked' });
    const pinned = await buildImage(client.repository('ns/app'), { tag: 'pinned' });
    cases.push(
      { image: wild.ref, allowed: true, why: '*.0.1 wildcard scope' },
      { image: nsOther.ref, allowed: false, why: 'namespace scope HOST/ns: reject' },
      { image: nsApp.ref, allowed: true, why: 'repository scope HOST/ns/app' },
      {
        image: `${host}/ns/app:blocked`,
        allowed: false,
        why: 'identity scope HOST/ns/app:blocked',
      },
      {
        image: `${host}/ns/app@${pinned.descriptor.digest}`,
        allowed: false,
        why: 'identity scope HOST/ns/app@digest',
      },
      { image: open.ref, allowed: true, why: 'insecureAcceptAnything scope' },
      { image: rejected.ref, allowed: false, why: 'reject scope' },
      {
        image: elsewhere.ref,
        allowed: true,
        why: 'the *.0.1 wildcard comes before the transport\'s "" scope',
      },
    );
    cases.push(
      {
        image: signed.ref,
        allowed: true,
        sigstore: true,
        why: 'signed with the trusted key, matchRepository',
      },
      { image: unsigned.ref, allowed: false, sigstore: true, why: 'no signature' },
      { image: otherSigned.ref, allowed: false, sigstore: true, why: 'signed with another key' },
      {
        image: exact.ref,
        allowed: false,
        sigstore: true,
        why: 'matchRepoDigestOrExact by tag: the signed identity has no tag',
      },
      {
        image: `${host}/exact/signed@${exact.digest}`,
        allowed: false,
        sigstore: true,
        why: 'matchRepoDigestOrExact by digest: a cosign-style claim names no tag or digest, which it refuses',
      },
      {
        image: noAttachments.ref,
        allowed: false,
        sigstore: true,
        why: 'registries.d turns use-sigstore-attachments off for this namespace',
      },
      {
        image: `${host}/app/signed@${signed.digest}`,
        allowed: true,
        sigstore: true,
        why: 'matchRepository by digest',
      },
    );
    pinnedScope = `${host}/ns/app@${pinned.descriptor.digest}`;

    const sigstoreSigned = (signedIdentity?: object) => [
      {
        type: 'sigstoreSigned',
        keyPath: join(tmp, 'trusted.pub'),
        ...(signedIdentity === undefined ? {} : { signedIdentity }),
      },
    ];
    policyFile = join(tmp, 'policy.json');
    await writeFile(
      policyFile,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [`${host}/open`]: [{ type: 'insecureAcceptAnything' }],
            [`${host}/app`]: sigstoreSigned({ type: 'matchRepository' }),
            [`${host}/exact`]: sigstoreSigned(),
            [`${host}/no-attachments`]: sigstoreSigned({ type: 'matchRepository' }),
            [`${host}/rejected`]: [{ type: 'reject' }],
            '': [{ type: 'reject' }],
            '*.0.1': [{ type: 'insecureAcceptAnything' }],
            [`${host}/ns`]: [{ type: 'reject' }],
            [`${host}/ns/app`]: [{ type: 'insecureAcceptAnything' }],
            [`${host}/ns/app:blocked`]: [{ type: 'reject' }],
            [pinnedScope]: [{ type: 'reject' }],
            [`${host}/gpg`]: [
              { type: 'signedBy', keyType: 'GPGKeys', keyPath: join(tmp, 'gpg-key.gpg') },
            ],
          },
        },
      }),
    );
    registriesD = join(tmp, 'registries.d');
    await mkdir(registriesD);
    await writeFile(
      join(registriesD, 'default.yaml'),
      `docker:\n  ${host}:\n    lookaside: file://${lookaside}\n    use-sigstore-attachments: true\n  ${host}/no-attachments:\n    use-sigstore-attachments: false\n`,
    );

    // skopeo signs a copy with the GPG key (identity: the destination, with its tag).
    await execFileP(
      SKOPEO,
      [
        '--insecure-policy',
        '--registries.d',
        registriesD,
        'copy',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        '--sign-by',
        fingerprint,
        `docker://${open.ref}`,
        `docker://${host}/gpg/signed:1`,
      ],
      { env: gpgEnv, timeout: 60_000 },
    );
    const gpgUnsigned = await push('gpg/unsigned');
    cases.push(
      {
        image: `${host}/gpg/signed:1`,
        allowed: true,
        why: 'GPG-signed by skopeo --sign-by, signedBy',
      },
      {
        image: `${host}/gpg/signed:other`,
        allowed: false,
        why: 'another image of the signed repository: no signature for its digest',
      },
      { image: gpgUnsigned.ref, allowed: false, why: 'signedBy: no GPG signature' },
    );
    await buildImage(client.repository('gpg/signed'), { tag: 'other' });
  });

  after(async () => {
    await http?.close();
    await registry?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  /**
   * skopeo's decision: exit 0, or the policy's rejection (any other failure
   * fails the test); `sigstore`: the rejection must be the missing sigstore
   * support of Debian's build, or no signature at all.
   */
  async function skopeoAllows(image: string, index: number, sigstore = false): Promise<boolean> {
    try {
      await execFileP(
        SKOPEO,
        [
          '--policy',
          policyFile,
          '--registries.d',
          registriesD,
          'copy',
          '--src-tls-verify=false',
          `docker://${image}`,
          `dir:${join(tmp, `copy-${index}`)}`,
        ],
        { env: { ...process.env, HOME: tmp }, timeout: 60_000 },
      );
      return true;
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? error);
      assert.match(stderr, /Source image rejected/, `${image}: ${stderr}`);
      if (sigstore)
        assert.match(stderr, /sigstore disabled|no signature exists/, `${image}: ${stderr}`);
      return false;
    }
  }

  it('skopeo allows and denies each image as expected', async () => {
    for (const [index, { image, allowed, sigstore, why }] of cases.entries()) {
      // Debian builds skopeo 1.9.3 without sigstore: every sigstoreSigned
      // requirement is refused ("Debian-local change: sigstore disabled"), so
      // for those images only a denial can agree; the allowed ones are
      // checked against containers/image's own tests instead
      // (src/containers-policy/evaluate.test.ts).
      const expected = sigstore === true ? false : allowed;
      assert.equal(
        await skopeoAllows(image, index, sigstore === true),
        expected,
        `skopeo, ${image}: ${why}`,
      );
    }
  });

  it('vouch allows and denies each image as expected, with exit code 1 for the denials', async () => {
    const run = await runVouch(
      [
        'verify',
        '--containers-policy',
        policyFile,
        '--registries.d',
        registriesD,
        '-o',
        'json',
        ...cases.map(({ image }) => image),
      ],
      { env: env() },
    );
    const report = JSON.parse(run.stdout) as {
      images: { image: string; status: string; error: { code: string } | null }[];
    };
    for (const [index, { image, allowed, why }] of cases.entries()) {
      const result = report.images[index];
      assert.equal(result?.image, image);
      assert.equal(result.status, allowed ? 'verified' : 'denied', `vouch, ${image}: ${why}`);
      if (!allowed) assert.equal(result.error?.code, 'CONTAINERS_POLICY_DENIED');
    }
    assert.equal(run.code, 1, run.stderr);
  });

  it('vouch exits 0 when every image is allowed, and 2 for a policy skopeo also refuses', async () => {
    const allowed = cases.filter((c) => c.allowed).map((c) => c.image);
    const ok = await runVouch(
      ['verify', '--containers-policy', policyFile, '--registries.d', registriesD, ...allowed],
      { env: env() },
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /allowed/);

    const bad = join(tmp, 'bad-policy.json');
    await writeFile(bad, JSON.stringify({ default: [{ type: 'reject', extra: 1 }] }));
    const refused = await runVouch(['verify', '--containers-policy', bad, allowed[0] as string], {
      env: env(),
    });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /unknown key "extra"/);
    await assert.rejects(
      execFileP(
        SKOPEO,
        ['--policy', bad, 'copy', `docker://${allowed[0]}`, `dir:${join(tmp, 'bad-copy')}`],
        { env: { ...process.env, HOME: tmp } },
      ),
      /Unknown key \\?"extra\\?"/,
    );
  });
});
