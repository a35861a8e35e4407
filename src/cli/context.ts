/**
 * What a command run works with, built in one place from the CLI's
 * environment and its parsed common flags: registry and layout stores, the
 * HTTP client for notary servers, the directories vouch reads and writes,
 * the notary metadata store and servers, the Sigstore trusted root's logs
 * and keyless trust. Each piece is built on first use and once (keyless
 * trust once per authority, again after a failure), and heavy modules are
 * imported only then, so a one-shot `vouch verify --key` loads nothing it
 * does not use. `close()` closes whatever was opened.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { NotaryMetadataStore } from '../dct/metadata-store.ts';
import type { NotaryServer } from '../dct/notary-server.ts';
import { notationConfigDir } from '../notation/config-dir.ts';
import type { Credentials } from '../registry/credentials.ts';
import type { HttpClient, HttpOptions } from '../registry/http.ts';
import { type StoreOptions, Stores } from '../registry/open.ts';
import type { CertificateIdentity } from '../sigstore/certificate-identity.ts';
import type { TransparencyLog, TrustedRoot } from '../sigstore/trusted-root.ts';
import type { CertificateTrust } from '../verify/evaluate.ts';
import type { CliIO } from './io.ts';
import {
  credentialLookup,
  deadlineSignal,
  type RegistrySettings,
  USER_AGENT,
  type Workload,
} from './options.ts';

/** The directories a run uses, each from the CLI's environment. */
export interface CliDirs {
  /** vouch's home: ~/.vouch. */
  readonly vouchHome: string;
  /** Docker Content Trust keys and metadata: --trust-dir, else ~/.vouch/trust. */
  readonly trust: string;
  /** Docker's configuration: $DOCKER_CONFIG, else ~/.docker. */
  readonly dockerConfig: string;
  /** Where docker keeps its trust keys: $DOCKER_CONFIG/trust. */
  readonly dockerTrust: string;
  /** The trusted-root cache: $VOUCH_CACHE_DIR, $XDG_CACHE_HOME/vouch or ~/.cache/vouch. */
  readonly cache: string;
  /** notation's configuration: $NOTATION_CONFIG, $XDG_CONFIG_HOME/notation or ~/.config/notation. */
  readonly notationConfig: string;
}

/**
 * The home directory: $HOME of the CLI's environment (so a test or a
 * container that sets it is obeyed), the account's only when HOME is unset.
 */
export function homeOf(io: CliIO): string {
  const home = io.env.HOME;
  return home !== undefined && home !== '' ? home : homedir();
}

/**
 * vouch's cache directory: $VOUCH_CACHE_DIR, else $XDG_CACHE_HOME/vouch, else
 * ~/.cache/vouch. A relative XDG_CACHE_HOME is ignored, as the XDG Base
 * Directory specification requires.
 */
function cacheDirOf(io: CliIO): string {
  const explicit = io.env.VOUCH_CACHE_DIR;
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = io.env.XDG_CACHE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'vouch');
  return join(homeOf(io), '.cache', 'vouch');
}

export function cliDirs(io: CliIO, trustDir?: string): CliDirs {
  const vouchHome = join(homeOf(io), '.vouch');
  const dockerConfig = io.env.DOCKER_CONFIG ?? join(homeOf(io), '.docker');
  return {
    vouchHome,
    trust: trustDir ?? join(vouchHome, 'trust'),
    dockerConfig,
    dockerTrust: join(dockerConfig, 'trust'),
    cache: cacheDirOf(io),
    notationConfig: notationConfigDir({
      notationConfig: io.env.NOTATION_CONFIG,
      xdgConfigHome: io.env.XDG_CONFIG_HOME,
      home: homeOf(io),
    }),
  };
}

export interface ContextSettings {
  /** The registry flags' settings (`REGISTRY_FLAGS`); the deadline starts when the context is made. */
  readonly registry: RegistrySettings;
  /** How many images the run works on (options.ts `workloadFor`). */
  readonly workload: Workload;
  /** --trust-dir. */
  readonly trustDir?: string | undefined;
  /** --offline: never fetch Sigstore trust material. */
  readonly offline?: boolean | undefined;
  /** Bounds of the run's own on each request (a server's per-request deadline). */
  readonly http?: (base: HttpOptions) => HttpOptions;
  /** Credentials to use instead of the Docker configuration's (`vouch login` checking new ones). */
  readonly credentials?: (registry: string) => Promise<Credentials | undefined>;
}

/** Who must have signed keylessly, and under which trusted root file (default: the CLI's choice). */
export interface KeylessRequest {
  readonly identity: CertificateIdentity;
  readonly trustedRoot?: string | undefined;
}

export class CliContext {
  readonly io: CliIO;
  readonly dirs: CliDirs;
  /** The run's deadline (--deadline); undefined for a server. */
  readonly signal: AbortSignal | undefined;
  readonly offline: boolean;
  readonly allowInsecure: boolean;
  readonly storeOptions: StoreOptions;
  #stores: Stores | undefined;
  #http: Promise<HttpClient> | undefined;
  #notaryMetadata: Promise<NotaryMetadataStore> | undefined;
  #notaryServers:
    Promise<(server: string | undefined, registry: string) => NotaryServer> | undefined;
  #tlogs: Promise<readonly TransparencyLog[]> | undefined;
  readonly #keyless = new WeakMap<KeylessRequest, Promise<CertificateTrust>>();
  #closed = false;

  constructor(io: CliIO, settings: ContextSettings) {
    this.io = io;
    this.dirs = cliDirs(io, settings.trustDir);
    this.offline = settings.offline ?? false;
    const { registry } = settings;
    this.allowInsecure = registry.allowInsecure;
    this.signal = registry.deadline === null ? undefined : deadlineSignal(registry.deadline);
    const http: HttpOptions = {
      userAgent: USER_AGENT,
      transport: settings.workload === 'short' ? 'node' : 'undici',
      ...(registry.ca === undefined ? {} : { ca: registry.ca }),
      ...(registry.requestTimeoutMs === undefined
        ? {}
        : { requestTimeoutMs: registry.requestTimeoutMs }),
      ...(this.signal === undefined ? {} : { signal: this.signal }),
    };
    this.storeOptions = {
      http: settings.http === undefined ? http : settings.http(http),
      credentials: settings.credentials ?? credentialLookup(io, this.dirs.dockerConfig),
      allowInsecure: registry.allowInsecure,
      ...(registry.maxManifestBytes === undefined
        ? {}
        : { maxManifestBytes: registry.maxManifestBytes }),
    };
  }

  /** Registry clients (one per host) and OCI layouts. */
  get stores(): Stores {
    this.#open();
    return (this.#stores ??= new Stores(this.storeOptions));
  }

  /** The HTTP client for notary servers, with the registries' options. */
  http(): Promise<HttpClient> {
    this.#open();
    return (this.#http ??= import('../registry/http.ts').then(
      ({ HttpClient }) => new HttpClient(this.storeOptions.http),
    ));
  }

  /** Verified notary metadata per repository, in the trust directory. */
  notaryMetadata(): Promise<NotaryMetadataStore> {
    return (this.#notaryMetadata ??= import('../dct/metadata-store.ts').then(
      ({ NotaryMetadataStore }) => new NotaryMetadataStore(this.dirs.trust),
    ));
  }

  /**
   * The notary servers, as a function of the server a user or policy named
   * (undefined: docker's choice for the registry, notary-server-url.ts) and
   * the image's registry, whose credentials it is given.
   */
  notaryServers(): Promise<(server: string | undefined, registry: string) => NotaryServer> {
    return (this.#notaryServers ??= (async () => {
      const [{ NotaryServer }, { notaryServerUrl }, http] = await Promise.all([
        import('../dct/notary-server.ts'),
        import('./notary-server-url.ts'),
        this.http(),
      ]);
      const credentials = this.storeOptions.credentials;
      const allowInsecure = this.allowInsecure;
      return (server: string | undefined, registry: string) =>
        new NotaryServer({
          url: notaryServerUrl(server, registry, allowInsecure),
          http,
          ...(credentials === undefined ? {} : { credentials: () => credentials(registry) }),
          allowInsecure,
        });
    })());
  }

  async notaryServer(server: string | undefined, registry: string): Promise<NotaryServer> {
    return (await this.notaryServers())(server, registry);
  }

  /** The trusted root of `file`, else the CLI's choice (cli/trusted-root-choice.ts). */
  async trustedRoot(file?: string): Promise<TrustedRoot> {
    const { chooseTrustedRoot } = await import('./trusted-root-choice.ts');
    return chooseTrustedRoot(this.io, {
      file,
      cacheDir: this.dirs.cache,
      offline: this.offline,
      signal: this.signal,
    });
  }

  /** The transparency logs of the CLI's trusted root, loaded once and only when a bundle needs them. */
  tlogs(): Promise<readonly TransparencyLog[]> {
    return this.#retryable(
      () => this.#tlogs,
      (value) => (this.#tlogs = value),
      async () => (await this.trustedRoot()).tlogs,
    );
  }

  /**
   * Keyless trust for `request` (a policy's keyless authority, or a
   * command's identity flags): built once per request object, again after a
   * failure (a TUF refresh without network is retried by the next caller).
   */
  keylessTrust(request: KeylessRequest): Promise<CertificateTrust> {
    return this.#retryable(
      () => this.#keyless.get(request),
      (value) =>
        value === undefined ? this.#keyless.delete(request) : this.#keyless.set(request, value),
      async () => {
        // Loaded here, not at startup: verifying with --key never needs @sigstore/*.
        const [root, { keylessTrustOf }, keyless] = await Promise.all([
          this.trustedRoot(request.trustedRoot),
          import('../sigstore/keyless-trust.ts'),
          import('../verify/certificate-trust.ts'),
        ]);
        return keyless.certificateTrust(
          request.identity,
          keylessTrustOf(root, request.trustedRoot ?? 'the trusted root'),
        );
      },
    );
  }

  /** Closes the stores and HTTP client that were opened; the context is done after. */
  async close(): Promise<void> {
    this.#closed = true;
    const http = this.#http;
    await Promise.all([this.#stores?.close(), http?.then((client) => client.close())]);
  }

  #retryable<T>(
    get: () => Promise<T> | undefined,
    set: (value: Promise<T> | undefined) => void,
    build: () => Promise<T>,
  ): Promise<T> {
    let value = get();
    if (value === undefined) {
      value = build();
      const built = value;
      built.catch(() => {
        if (get() === built) set(undefined);
      });
      set(value);
    }
    return value;
  }

  #open(): void {
    if (this.#closed) throw new Error('the CLI context is closed');
  }
}

/** The context of one command run. */
export function cliContext(io: CliIO, settings: ContextSettings): CliContext {
  return new CliContext(io, settings);
}
