import { invalid } from '../core/errors.ts';
import { isLoopbackRegistry } from '../oci/reference.ts';

/**
 * The notary server for a registry, as docker picks it. Plain HTTP only on
 * loopback or with --allow-insecure-registry (docker itself insists on HTTPS).
 */
export function notaryServerUrl(
  flag: string | undefined,
  registry: string,
  allowInsecure: boolean,
): URL {
  const text =
    flag ?? (registry === 'docker.io' ? 'https://notary.docker.io' : `https://${registry}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('USAGE', `notary server ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol === 'http:' && !allowInsecure && !isLoopbackRegistry(url.host)) {
    throw invalid(
      'USAGE',
      `notary server ${url.href} is plain HTTP; use HTTPS, or --allow-insecure-registry`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid('USAGE', `notary server ${url.href} must be an https:// URL`);
  }
  return url;
}
