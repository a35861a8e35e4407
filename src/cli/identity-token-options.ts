/**
 * Where keyless signing's OIDC identity token comes from, with cosign's flag
 * names (sigstore/cosign cmd/cosign/cli/options/fulcio.go `--identity-token`,
 * oidc.go `--oidc-issuer`, `--oidc-client-id`, `--oidc-client-secret-file`).
 * In this order, the first that applies:
 *
 * 1. `--identity-token TOKEN`, or `--identity-token @FILE` (cosign takes a
 *    token or a path; vouch asks for the `@` so a mistyped path is not sent
 *    as a token, nor a token read as a path);
 * 2. `$SIGSTORE_ID_TOKEN` (cosign pkg/providers/envvar: GitLab's
 *    `id_tokens`, Buildkite and other CIs put the token there);
 * 3. GitHub Actions' token service, when `$ACTIONS_ID_TOKEN_REQUEST_URL` and
 *    `$ACTIONS_ID_TOKEN_REQUEST_TOKEN` are both set (cosign
 *    pkg/providers/github), for the audience the caller names;
 * 4. on a terminal only (stdin and stderr), the OAuth device flow against
 *    `--oidc-issuer` (default the Sigstore public-good issuer), the sign-in
 *    prompt on stderr.
 *
 * Whatever the source, the token is then checked (sigstore/identity-token.ts)
 * before anyone sends it to Fulcio: an expired token, or one for another
 * audience, is refused here with a message that says so. No message and no
 * output ever holds the token.
 *
 * The group only reads its flags; tokens are looked for when a command asks
 * (`resolveIdentityToken`), and the modules that fetch them load then.
 */
import { open } from 'node:fs/promises';
import { invalid, isVouchError, messageOf } from '../core/errors.ts';
import { isLoopbackRegistry } from '../oci/reference.ts';
import type { HttpClient } from '../registry/http.ts';
import type { IdentityToken } from '../sigstore/identity-token.ts';
import type { DeviceFlowPrompt } from '../sigstore/oidc-device-flow.ts';
import type { FlagGroup, Options } from './flags.ts';
import type { CliIO } from './io.ts';
import { USER_AGENT } from './options.ts';

const IDENTITY_TOKEN_OPTIONS = {
  'identity-token': { type: 'string' },
  'oidc-issuer': { type: 'string' },
  'oidc-client-id': { type: 'string' },
  'oidc-client-secret-file': { type: 'string' },
} as const satisfies Options;

/** cosign's `--oidc-client-id` default, the public-good issuer's client for Sigstore. */
const DEFAULT_CLIENT_ID = 'sigstore';

const IDENTITY_TOKEN_HELP = `Identity token options (keyless signing; cosign's names):
      --identity-token TOKEN|@FILE
                              the OIDC identity token to exchange for a Fulcio certificate,
                              or @FILE to read it from FILE. Without it: $SIGSTORE_ID_TOKEN,
                              then GitHub Actions' token ($ACTIONS_ID_TOKEN_REQUEST_URL and
                              $ACTIONS_ID_TOKEN_REQUEST_TOKEN; the job needs
                              \`permissions: id-token: write\`), then, on a terminal only, a
                              sign-in at --oidc-issuer (OAuth device flow)
      --oidc-issuer URL       the OIDC issuer of the sign-in (default
                              https://oauth2.sigstore.dev/auth, Sigstore's public-good one)
      --oidc-client-id ID     the OAuth client ID at the issuer (default ${DEFAULT_CLIENT_ID})
      --oidc-client-secret-file FILE
                              the client's secret, for an issuer that requires one
The token must be for the audience "sigstore" (or the client ID) and not expired; it is
never printed.`;

/** What the identity token options ask for. */
export interface IdentityTokenSettings {
  /** `--identity-token` as given: a token, or `@FILE`. */
  readonly identityToken: string | undefined;
  /** `--oidc-issuer`; undefined: the Sigstore public-good issuer. */
  readonly oidcIssuer: string | undefined;
  readonly oidcClientId: string;
  readonly oidcClientSecretFile: string | undefined;
}

export const IDENTITY_TOKEN_FLAGS = {
  options: IDENTITY_TOKEN_OPTIONS,
  help: IDENTITY_TOKEN_HELP,
  read: (values): IdentityTokenSettings => {
    const identityToken = values['identity-token'];
    if (identityToken !== undefined && identityToken.trim().replace(/^@/, '') === '') {
      throw invalid('USAGE', '--identity-token takes a token, or @FILE to read one from FILE');
    }
    const oidcIssuer = values['oidc-issuer'];
    if (oidcIssuer !== undefined) checkIssuerUrl(oidcIssuer);
    const oidcClientId = values['oidc-client-id'] ?? DEFAULT_CLIENT_ID;
    if (oidcClientId === '') throw invalid('USAGE', '--oidc-client-id must not be empty');
    const oidcClientSecretFile = values['oidc-client-secret-file'];
    if (oidcClientSecretFile === '') {
      throw invalid('USAGE', '--oidc-client-secret-file must not be empty');
    }
    return { identityToken, oidcIssuer, oidcClientId, oidcClientSecretFile };
  },
} as const satisfies FlagGroup<typeof IDENTITY_TOKEN_OPTIONS, IdentityTokenSettings>;

function checkIssuerUrl(text: string): void {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // refused below
  }
  if (
    url === undefined ||
    !(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackRegistry(url.host)))
  ) {
    throw invalid(
      'USAGE',
      `--oidc-issuer takes an https:// URL (plain http only on loopback), not ${JSON.stringify(text)}`,
    );
  }
}

/** Where a token came from. */
export type IdentityTokenSource = 'flag' | 'file' | 'env' | 'github-actions' | 'device-flow';

export interface ResolvedIdentityToken {
  /** The token itself: a credential, for Fulcio only. Never print it. */
  readonly token: string;
  readonly source: IdentityTokenSource;
  /** What the token says (issuer, subject, audiences, expiry), checked. */
  readonly identity: IdentityToken;
}

export interface ResolveIdentityTokenOptions {
  /** The audience Fulcio expects: `sigstore` for the public-good instance. */
  readonly audience: string;
  /** Stops the token requests and the device flow (a command's deadline). */
  readonly signal?: AbortSignal;
  /** The HTTP client for GitHub Actions and the issuer; one of its own (closed after) unless given. */
  readonly http?: HttpClient;
}

/** Tokens are a few KiB; a file much larger is not one. */
const MAX_TOKEN_FILE_BYTES = 128 * 1024;
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * The identity token for keyless signing, from the first source that
 * applies (see the top of this file), checked for `options.audience` (or
 * the client ID) and expiry. Throws `invalid` IDENTITY_TOKEN_MISSING when no
 * source applies, FILE_UNREADABLE for an unreadable @FILE or secret file,
 * and the sources' and the check's errors (sigstore/identity-token.ts,
 * github-actions-token.ts, oidc-device-flow.ts).
 */
export async function resolveIdentityToken(
  io: CliIO,
  settings: IdentityTokenSettings,
  options: ResolveIdentityTokenOptions,
): Promise<ResolvedIdentityToken> {
  const found = await findToken(io, settings, options);
  const { checkIdentityToken } = await import('../sigstore/identity-token.ts');
  const identity = checkIdentityToken(found.token, {
    audience: [...new Set([options.audience, settings.oidcClientId])],
    what: found.what,
  });
  return { token: found.token, source: found.source, identity };
}

interface Found {
  readonly token: string;
  readonly source: IdentityTokenSource;
  /** The token, for messages. */
  readonly what: string;
}

async function findToken(
  io: CliIO,
  settings: IdentityTokenSettings,
  options: ResolveIdentityTokenOptions,
): Promise<Found> {
  const flag = settings.identityToken;
  if (flag !== undefined) {
    if (flag.startsWith('@')) {
      const path = flag.slice(1);
      const token = await readTextFile(path, MAX_TOKEN_FILE_BYTES, '--identity-token @FILE');
      return { token, source: 'file', what: `the identity token in ${path} (--identity-token)` };
    }
    return { token: flag.trim(), source: 'flag', what: 'the identity token of --identity-token' };
  }
  const fromEnv = io.env.SIGSTORE_ID_TOKEN?.trim();
  if (fromEnv !== undefined && fromEnv !== '') {
    return { token: fromEnv, source: 'env', what: 'the identity token in $SIGSTORE_ID_TOKEN' };
  }
  const requestUrl = io.env.ACTIONS_ID_TOKEN_REQUEST_URL ?? '';
  const requestToken = io.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? '';
  const terminal = io.stdin.isTTY === true && io.stderr.isTTY === true;
  if ((requestUrl === '' || requestToken === '') && !terminal) {
    throw missing(requestUrl, requestToken);
  }
  return withHttp(options, async (http) => {
    if (requestUrl !== '' && requestToken !== '') {
      const { fetchGithubActionsToken } = await import('../sigstore/github-actions-token.ts');
      const token = await fetchGithubActionsToken({
        requestUrl,
        requestToken,
        audience: options.audience,
        http,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      return { token, source: 'github-actions', what: 'the identity token from GitHub Actions' };
    }
    const { deviceFlowToken, PUBLIC_GOOD_OIDC_ISSUER } =
      await import('../sigstore/oidc-device-flow.ts');
    const issuer = settings.oidcIssuer ?? PUBLIC_GOOD_OIDC_ISSUER;
    const secretFile = settings.oidcClientSecretFile;
    const clientSecret =
      secretFile === undefined
        ? undefined
        : await readTextFile(secretFile, MAX_SECRET_FILE_BYTES, '--oidc-client-secret-file');
    const token = await deviceFlowToken({
      issuer,
      clientId: settings.oidcClientId,
      ...(clientSecret === undefined ? {} : { clientSecret }),
      http,
      onPrompt: (prompt) => io.stderr.write(promptText(issuer, prompt)),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return {
      token,
      source: 'device-flow',
      what: `the identity token from ${JSON.stringify(issuer)}`,
    };
  });
}

/** The error when no source applies: each source, and why it did not. */
function missing(requestUrl: string, requestToken: string) {
  const github =
    requestUrl === '' && requestToken === ''
      ? 'this is no GitHub Actions job with an ID token ($ACTIONS_ID_TOKEN_REQUEST_URL and $ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; the job needs `permissions: id-token: write`)'
      : `$${requestUrl === '' ? 'ACTIONS_ID_TOKEN_REQUEST_URL' : 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'} is not set, so GitHub Actions' token service cannot be asked`;
  return invalid(
    'IDENTITY_TOKEN_MISSING',
    `keyless signing needs an OIDC identity token, and none was found: --identity-token is not given, $SIGSTORE_ID_TOKEN is not set, ${github}, and with no terminal (stdin and stderr) nobody can sign in at the OIDC issuer (--oidc-issuer); pass --identity-token TOKEN or @FILE, or sign with a key (--key KEY)`,
  );
}

/** The sign-in prompt (RFC 8628 §3.3): where to go and what to enter. */
function promptText(issuer: string, prompt: DeviceFlowPrompt): string {
  const minutes = Math.max(1, Math.round(prompt.expiresIn / 60));
  const direct =
    prompt.verificationUriComplete === undefined
      ? ''
      : `\n(or open ${prompt.verificationUriComplete}, which has the code in it)`;
  return `To sign in at ${issuer} for a signing certificate, open\n  ${prompt.verificationUri}\nand enter the code ${prompt.userCode}${direct}\nThe code is valid for ${minutes} minute${minutes === 1 ? '' : 's'}. Waiting for the sign-in...\n`;
}

async function withHttp<T>(
  options: ResolveIdentityTokenOptions,
  use: (http: HttpClient) => Promise<T>,
): Promise<T> {
  if (options.http !== undefined) return use(options.http);
  const { HttpClient } = await import('../registry/http.ts');
  // A few requests from a short-lived command: Node's own client (registry/transport.ts).
  const http = new HttpClient({
    transport: 'node',
    userAgent: USER_AGENT,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  try {
    return await use(http);
  } finally {
    await http.close();
  }
}

/**
 * A small text file, whitespace around it trimmed (a token or secret
 * written with `echo` ends in a newline), read with a cap and refused if
 * it is not UTF-8 (as cosign refuses a secret file). Any file that can be
 * opened will do, a pipe (`@/dev/stdin`) included.
 */
async function readTextFile(path: string, maxBytes: number, flag: string): Promise<string> {
  const unreadable = (why: string, cause?: unknown) =>
    invalid('FILE_UNREADABLE', `cannot read ${flag} ${path}: ${why}`, { cause });
  if (path === '') throw invalid('USAGE', `${flag} needs a file name after the @`);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw unreadable(messageOf(error), error);
  }
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw unreadable(`it is larger than ${maxBytes} bytes`);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      throw unreadable('it is not UTF-8 text');
    }
    const trimmed = text.trim();
    if (trimmed === '') throw unreadable('it is empty');
    return trimmed;
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw unreadable(messageOf(error), error);
  } finally {
    await handle.close();
  }
}
