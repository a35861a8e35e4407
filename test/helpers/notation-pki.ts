/**
 * A throwaway PKI made with the `openssl` CLI, for Notary Project chain,
 * revocation and timestamp tests: each certificate is issued with
 * `openssl ca` from its issuer's own CA directory (index.txt, serial,
 * crlnumber), so `openssl ca -revoke` / `-gencrl` make real CRLs and
 * `openssl ocsp` answers from the same database, as notation's own test
 * scripts do (notation test/e2e/scripts/gen_crl_testing_certs.sh).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type KeySpec =
  'ec-p256' | 'ec-p384' | 'ec-p521' | 'ec-p224' | 'rsa-1024' | 'rsa-2048' | 'rsa-3072' | 'ed25519';

export interface CertificateSpec {
  /** openssl `-subj`, e.g. `/CN=Leaf/O=Test`. */
  readonly subject: string;
  /** Self-signed when omitted. */
  readonly issuer?: Issued;
  readonly key?: KeySpec;
  /** Lines of the extension section, e.g. `basicConstraints=critical,CA:TRUE`. */
  readonly extensions: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly digest?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
}

export interface Issued {
  readonly name: string;
  /** This certificate's CA directory (its database when it issues). */
  readonly dir: string;
  readonly keyFile: string;
  readonly certFile: string;
  readonly der: Uint8Array;
}

const HOUR = 3600_000;

/** openssl's `YYYYMMDDHHMMSSZ`. */
export function opensslTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** `openssl req -newkey` arguments for each key. */
const KEY_ARGS: Record<KeySpec, string[]> = {
  'ec-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'ec-p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  'ec-p521': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'],
  'ec-p224': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-224'],
  'rsa-1024': ['-newkey', 'rsa:1024'],
  'rsa-2048': ['-newkey', 'rsa:2048'],
  'rsa-3072': ['-newkey', 'rsa:3072'],
  ed25519: ['-newkey', 'ed25519'],
};

function caConfig(crlExtensions: readonly string[]): string {
  return [
    '[ ca ]',
    'default_ca = CA_default',
    '[ CA_default ]',
    'dir = .',
    'database = $dir/index.txt',
    'new_certs_dir = $dir/newcerts',
    'serial = $dir/serial',
    'crlnumber = $dir/crlnumber',
    'default_md = sha256',
    'policy = policy_any',
    'unique_subject = no',
    'default_crl_days = 7',
    ...(crlExtensions.length > 0 ? ['crl_extensions = crl_ext'] : []),
    '[ policy_any ]',
    'countryName = optional',
    'stateOrProvinceName = optional',
    'localityName = optional',
    'organizationName = optional',
    'organizationalUnitName = optional',
    'commonName = supplied',
    ...(crlExtensions.length > 0 ? ['[ crl_ext ]', ...crlExtensions] : []),
    '',
  ].join('\n');
}

export class TestPki {
  readonly dir: string;
  #serial = 0x1000;
  /** Per CA directory, the last operation on its database: they run one at a time. */
  readonly #queues = new Map<string, Promise<unknown>>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(): Promise<TestPki> {
    return new TestPki(await mkdtemp(join(tmpdir(), 'vouch-notation-pki-')));
  }

  /** Runs `task` after every earlier task on `dir`'s database. */
  #serialized<T>(dir: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(dir) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(task);
    this.#queues.set(dir, next);
    return next;
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Runs openssl in `cwd`; its stderr is in the error when it fails. */
  async openssl(cwd: string, args: readonly string[]): Promise<string> {
    try {
      const { stdout } = await run('openssl', [...args], {
        cwd,
        encoding: 'utf8',
        maxBuffer: 16 << 20,
      });
      return stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`openssl ${args.join(' ')} failed: ${stderr}`, { cause: error });
    }
  }

  /** Issues (or self-signs) a certificate named `name`. */
  async certificate(name: string, spec: CertificateSpec): Promise<Issued> {
    const dir = join(this.dir, name);
    await this.#caDir(dir);
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    await this.openssl(dir, [
      'req',
      '-new',
      ...KEY_ARGS[spec.key ?? 'ec-p256'],
      '-nodes',
      '-keyout',
      keyFile,
      '-subj',
      spec.subject,
      '-out',
      'req.csr',
    ]);
    await writeFile(join(dir, 'ext.cnf'), `${spec.extensions.join('\n')}\n`);
    const issuerDir = spec.issuer?.dir ?? dir;
    // Serials are unique across the PKI, so a test can tell certificates apart by serial.
    const serial = this.#serial++;
    const notBefore = spec.notBefore ?? new Date(Date.now() - HOUR);
    const notAfter = spec.notAfter ?? new Date(Date.now() + 365 * 24 * HOUR);
    const digest = spec.digest ?? 'sha256';
    await this.#serialized(issuerDir, async () => {
      await writeFile(join(issuerDir, 'serial'), `${serial.toString(16).toUpperCase()}\n`);
      await this.openssl(issuerDir, [
        'ca',
        '-batch',
        '-config',
        'ca.cnf',
        '-in',
        join(dir, 'req.csr'),
        '-out',
        certFile,
        '-notext',
        '-startdate',
        opensslTime(notBefore),
        '-enddate',
        opensslTime(notAfter),
        '-extfile',
        join(dir, 'ext.cnf'),
        '-md',
        digest,
        ...(spec.issuer === undefined
          ? ['-selfsign', '-keyfile', keyFile]
          : ['-keyfile', spec.issuer.keyFile, '-cert', spec.issuer.certFile]),
      ]);
    });
    const pem = await readFile(certFile, 'utf8');
    return { name, dir, keyFile, certFile, der: pemToDer(pem) };
  }

  async #caDir(dir: string, crlExtensions: readonly string[] = []): Promise<void> {
    await mkdir(join(dir, 'newcerts'), { recursive: true });
    await writeFile(join(dir, 'index.txt'), '', { flag: 'a' });
    await writeFile(join(dir, 'crlnumber'), '1000\n', { flag: 'wx' }).catch(() => {});
    await writeFile(join(dir, 'ca.cnf'), caConfig(crlExtensions));
  }

  /** Marks `cert` revoked in `issuer`'s database (`openssl ca -revoke`). */
  async revoke(
    cert: Issued,
    issuer: Issued,
    options: {
      readonly reason?: string;
      readonly hold?: boolean;
      /** keyCompromise at this time (the CRL entry's and OCSP response's invalidity date). */
      readonly compromisedAt?: Date;
    } = {},
  ): Promise<void> {
    await this.#serialized(issuer.dir, () =>
      this.openssl(issuer.dir, [
        'ca',
        '-config',
        'ca.cnf',
        '-keyfile',
        issuer.keyFile,
        '-cert',
        issuer.certFile,
        '-revoke',
        cert.certFile,
        ...(options.hold === true
          ? ['-crl_hold', 'holdInstructionNone']
          : options.compromisedAt !== undefined
            ? ['-crl_compromise', opensslTime(options.compromisedAt)]
            : ['-crl_reason', options.reason ?? 'keyCompromise']),
      ]),
    );
  }

  /** Replaces `issuer`'s database (index.txt) with `lines`, for states openssl cannot reach. */
  async setIndex(issuer: Issued, lines: readonly string[]): Promise<void> {
    await writeFile(join(issuer.dir, 'index.txt'), lines.map((l) => `${l}\n`).join(''));
  }

  async index(issuer: Issued): Promise<string[]> {
    return (await readFile(join(issuer.dir, 'index.txt'), 'utf8'))
      .split('\n')
      .filter((l) => l !== '');
  }

  /** A DER CRL of everything `issuer`'s database has revoked (`openssl ca -gencrl`). */
  async crl(
    issuer: Issued,
    options: {
      readonly lastUpdate?: Date;
      readonly nextUpdate?: Date;
      readonly crlNumber?: number;
      /** Lines of the CRL extension section (authorityKeyIdentifier, freshestCRL, a delta indicator...). */
      readonly extensions?: readonly string[];
      readonly digest?: 'sha1' | 'sha256';
    } = {},
  ): Promise<Uint8Array> {
    return this.#serialized(issuer.dir, () => this.#crl(issuer, options));
  }

  async #crl(issuer: Issued, options: Parameters<TestPki['crl']>[1] & object): Promise<Uint8Array> {
    await this.#caDir(issuer.dir, options.extensions ?? []);
    if (options.crlNumber !== undefined) {
      await writeFile(
        join(issuer.dir, 'crlnumber'),
        `${options.crlNumber.toString(16).toUpperCase().padStart(2, '0')}\n`,
      );
    }
    const pem = await this.openssl(issuer.dir, [
      'ca',
      '-config',
      'ca.cnf',
      '-gencrl',
      '-keyfile',
      issuer.keyFile,
      '-cert',
      issuer.certFile,
      '-md',
      options.digest ?? 'sha256',
      ...(options.lastUpdate === undefined
        ? []
        : ['-crl_lastupdate', opensslTime(options.lastUpdate)]),
      ...(options.nextUpdate === undefined
        ? ['-crlhours', '24']
        : ['-crl_nextupdate', opensslTime(options.nextUpdate)]),
    ]);
    await this.#caDir(issuer.dir);
    return pemToDer(pem, 'X509 CRL');
  }

  /**
   * An OCSP response to `request` from `issuer`'s database, signed by
   * `signer` (a delegated responder, or the issuer itself), made offline by
   * `openssl ocsp -reqin -respout`.
   */
  async ocspResponse(
    issuer: Issued,
    signer: Issued,
    request: Uint8Array,
    options: { readonly nextUpdateMinutes?: number; readonly noCerts?: boolean } = {},
  ): Promise<Uint8Array> {
    const dir = await mkdtemp(join(this.dir, 'ocsp-'));
    await writeFile(join(dir, 'req.der'), request);
    await this.openssl(issuer.dir, [
      'ocsp',
      '-index',
      'index.txt',
      '-CA',
      issuer.certFile,
      '-rsigner',
      signer.certFile,
      '-rkey',
      signer.keyFile,
      '-reqin',
      join(dir, 'req.der'),
      '-respout',
      join(dir, 'resp.der'),
      ...(options.nextUpdateMinutes === undefined
        ? []
        : ['-nmin', String(options.nextUpdateMinutes)]),
      ...(options.noCerts === true ? ['-resp_no_certs'] : []),
    ]);
    return new Uint8Array(await readFile(join(dir, 'resp.der')));
  }

  /**
   * An RFC 3161 TimeStampToken over `data` from the TSA `signer`, made by
   * `openssl ts -query` and `openssl ts -reply -token_out`.
   */
  async timestampToken(
    signer: Issued,
    data: Uint8Array,
    options: {
      /** Certificates the token carries besides the signer's. */
      readonly chain?: readonly Issued[];
      /** `sha256` writes signing-certificate-v2 (RFC 5816); `sha1` the v1 attribute only. */
      readonly essCertIdAlg?: 'sha1' | 'sha256';
      /** `secs:1, millisecs:500` style; none when omitted. */
      readonly accuracy?: string;
      readonly policy?: string;
      readonly digest?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
    } = {},
  ): Promise<Uint8Array> {
    const dir = await mkdtemp(join(this.dir, 'tsa-'));
    await writeFile(join(dir, 'data.bin'), data);
    await writeFile(
      join(dir, 'tsa.cnf'),
      [
        '[ tsa ]',
        'default_tsa = tsa_config',
        '[ tsa_config ]',
        `serial = ${join(dir, 'serial')}`,
        'crypto_device = builtin',
        'signer_digest = sha256',
        'default_policy = 1.2.3.4.1',
        'other_policies = 0.4.0.2023.1.1',
        'digests = sha1, sha256, sha384, sha512',
        ...(options.accuracy === undefined ? [] : [`accuracy = ${options.accuracy}`]),
        'ordering = no',
        'tsa_name = no',
        'ess_cert_id_chain = no',
        `ess_cert_id_alg = ${options.essCertIdAlg ?? 'sha256'}`,
        '',
      ].join('\n'),
    );
    const chain = options.chain ?? [];
    if (chain.length > 0) {
      const pems = await Promise.all(chain.map((c) => readFile(c.certFile, 'utf8')));
      await writeFile(join(dir, 'chain.pem'), pems.join(''));
    }
    await this.openssl(dir, [
      'ts',
      '-query',
      '-data',
      'data.bin',
      `-${options.digest ?? 'sha256'}`,
      '-cert',
      '-no_nonce',
      ...(options.policy === undefined ? [] : ['-tspolicy', options.policy]),
      '-out',
      'req.tsq',
    ]);
    await this.openssl(dir, [
      'ts',
      '-reply',
      '-config',
      'tsa.cnf',
      '-queryfile',
      'req.tsq',
      '-signer',
      signer.certFile,
      '-inkey',
      signer.keyFile,
      ...(chain.length > 0 ? ['-chain', 'chain.pem'] : []),
      '-token_out',
      '-out',
      'token.der',
    ]);
    return new Uint8Array(await readFile(join(dir, 'token.der')));
  }
}

/** The DER of the first PEM block of `label` in `pem`. */
export function pemToDer(pem: string, label = 'CERTIFICATE'): Uint8Array {
  const match = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`).exec(pem);
  if (match?.[1] === undefined) throw new Error(`no ${label} PEM block`);
  return new Uint8Array(Buffer.from(match[1].replace(/\s+/g, ''), 'base64'));
}

/** Every DER certificate of a PEM bundle, in order. */
export function pemCertificates(pem: string): Uint8Array[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)].map(
    (m) => new Uint8Array(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64')),
  );
}

/** Extension lines for the usual certificates. */
export const EXT = {
  root: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
  intermediate: (pathLen?: number) => [
    `basicConstraints=critical,CA:TRUE${pathLen === undefined ? '' : `,pathlen:${pathLen}`}`,
    'keyUsage=critical,keyCertSign,cRLSign',
  ],
  codeSigning: [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=codeSigning',
  ],
  timestamping: [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=critical,timeStamping',
  ],
  ocspSigning: ['keyUsage=critical,digitalSignature', 'extendedKeyUsage=critical,OCSPSigning'],
} as const;
