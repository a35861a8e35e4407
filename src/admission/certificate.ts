/**
 * A CA and a serving certificate for the webhook, made with the `openssl`
 * command (OpenSSL ≥ 1.1.1): Node can generate keys but not sign X.509
 * certificates, and the only pure-TS signer at hand (@peculiar/x509) is a
 * test-only dependency. The API server checks the serving certificate
 * against the `caBundle` of the webhook configurations and the name
 * `<service>.<namespace>.svc` (docs/formats.md "Kubernetes admission"), so the certificate
 * carries every name given as a subjectAltName (IP addresses as IP SANs).
 */
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { invalid, unavailable } from '../core/errors.ts';

const run = promisify(execFile);

export interface WebhookCertificateOptions {
  /** DNS names (and IP addresses) the serving certificate is valid for; the first is its CN. */
  readonly names: readonly string[];
  /** Where ca.crt, ca.key, tls.crt and tls.key are written (created if missing). */
  readonly outDir: string;
  /** Validity of the serving certificate; 365 unless given (the CA: ten times as long). */
  readonly days?: number;
  /** The openssl executable; `openssl` on the PATH unless given. */
  readonly openssl?: string;
}

export interface WebhookCertificateFiles {
  readonly caCert: string;
  readonly caKey: string;
  readonly cert: string;
  readonly key: string;
}

/** A DNS name as RFC 1123 allows (wildcards as the first label), or an IP address. */
const DNS_NAME =
  /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export async function createWebhookCertificate(
  options: WebhookCertificateOptions,
): Promise<WebhookCertificateFiles> {
  const [first] = options.names;
  if (first === undefined)
    throw invalid('USAGE', 'the serving certificate needs at least one name');
  for (const name of options.names) {
    if (isIP(name) === 0 && (!DNS_NAME.test(name) || name.length > 253)) {
      throw invalid('USAGE', `${JSON.stringify(name)} is neither a DNS name nor an IP address`);
    }
  }
  const days = options.days ?? 365;
  const openssl = options.openssl ?? 'openssl';
  await mkdir(options.outDir, { recursive: true });
  const files = {
    caCert: join(options.outDir, 'ca.crt'),
    caKey: join(options.outDir, 'ca.key'),
    cert: join(options.outDir, 'tls.crt'),
    key: join(options.outDir, 'tls.key'),
  };
  const work = await mkdtemp(join(options.outDir, '.vouch-cert-'));
  const sans = options.names.map((name) => (isIP(name) === 0 ? `DNS:${name}` : `IP:${name}`));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    await openssl_(openssl, [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      files.caKey,
      '-out',
      files.caCert,
      '-days',
      String(days * 10),
      '-subj',
      '/CN=vouch admission webhook CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const csr = join(work, 'tls.csr');
    await openssl_(openssl, [
      'req',
      ...ec,
      '-keyout',
      files.key,
      '-out',
      csr,
      '-subj',
      `/CN=${first.length <= 64 ? first : 'vouch admission webhook'}`,
    ]);
    const extensions = join(work, 'extensions.cnf');
    await writeFile(
      extensions,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=${sans.join(',')}`,
        '',
      ].join('\n'),
    );
    await openssl_(openssl, [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      files.caCert,
      '-CAkey',
      files.caKey,
      '-CAcreateserial',
      '-CAserial',
      join(work, 'ca.srl'),
      '-out',
      files.cert,
      '-days',
      String(days),
      '-sha256',
      '-extfile',
      extensions,
    ]);
    await Promise.all([chmod(files.caKey, 0o600), chmod(files.key, 0o600)]);
    // Sanity: the files are PEM.
    for (const file of Object.values(files)) {
      if (!(await readFile(file, 'utf8')).startsWith('-----BEGIN ')) {
        throw unavailable('OPENSSL_FAILED', `openssl wrote no PEM to ${file}`);
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return files;
}

async function openssl_(openssl: string, args: readonly string[]): Promise<void> {
  try {
    await run(openssl, args, { timeout: 60_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw unavailable(
      'OPENSSL_FAILED',
      `${openssl} ${args[0] ?? ''} failed: ${stderr.trim() || (error as Error).message}`,
      { cause: error },
    );
  }
}
