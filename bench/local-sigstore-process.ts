/**
 * The ephemeral Sigstore of test/helpers/local-sigstore.ts in a process of
 * its own, for benchmarks: the mock services' CPU work (certificates, SETs,
 * timestamps) must not run on the event loop being measured, as a real
 * Fulcio and Rekor would not. Prints one JSON line (URLs, trusted root
 * path) when listening; stops when its stdin closes.
 */
import { startLocalSigstore } from '../test/helpers/local-sigstore.ts';

const sigstore = await startLocalSigstore();
process.stdout.write(
  `${JSON.stringify({
    fulcioUrl: sigstore.fulcioUrl,
    rekorUrl: sigstore.rekorUrl,
    tsaUrl: sigstore.tsaUrl,
    trustedRootPath: sigstore.trustedRootPath,
  })}\n`,
);
process.stdin.resume();
process.stdin.on('end', () => {
  void sigstore.close().then(() => process.exit(0));
});
