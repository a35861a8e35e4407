/**
 * Base64 as Go reads it, checked against the grammar before Node's decoder
 * runs: Node's is far more lenient (it ignores bad characters, accepts
 * missing padding and both alphabets at once).
 *
 * - `decodeStdBase64`: Go's `base64.StdEncoding`, which is how cosign and
 *   containers/image decode signature annotations and `[]byte` JSON fields:
 *   the standard alphabet, padding required, and `\r` / `\n` skipped wherever
 *   they occur (encoding/base64 decoder).
 * - `decodeProtojsonBase64`: a protobuf `bytes` field in JSON (Sigstore
 *   bundles, trusted roots), as protojson reads it and so sigstore-go and
 *   cosign (google.golang.org/protobuf encoding/protojson/decode.go
 *   unmarshalBytes): the URL alphabet if the text holds `-` or `_`, else the
 *   standard one; padding required if the length is a multiple of 4, else
 *   none allowed (`WithPadding(NoPadding)`); `\r` / `\n` skipped. The
 *   mapping allows "standard or URL-safe base64 encoding with/without
 *   paddings" (https://protobuf.dev/programming-guides/json/); protojson
 *   refuses mixed alphabets and padding in an unpadded length.
 */

/**
 * Padded base64 in one alphabet: quads of the alphabet, the last one
 * possibly ending in `=` or `==`. Said as "a multiple of 4 long, the
 * alphabet, then at most two `=`", which is the same set of strings and
 * tests in a single pass (signature annotations and Rekor bodies are
 * kilobytes long, and read for every signature verified).
 */
function padded(alphabet: RegExp): { test(text: string): boolean } {
  return { test: (text) => text.length % 4 === 0 && alphabet.test(text) };
}

const STD_BASE64 = padded(/^[A-Za-z0-9+/]*={0,2}$/);

/** The decoded bytes, or undefined if `text` is not standard base64. */
export function decodeStdBase64(text: string): Uint8Array | undefined {
  const compact = text.replace(/[\r\n]/g, '');
  if (!STD_BASE64.test(compact)) return undefined;
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

const PADDED = {
  std: STD_BASE64,
  url: padded(/^[A-Za-z0-9_-]*={0,2}$/),
};
const UNPADDED = {
  std: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2,3})?$/,
  url: /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/,
};

/** The decoded bytes, or undefined if protojson would refuse `text` for a bytes field. */
export function decodeProtojsonBase64(text: string): Uint8Array | undefined {
  const alphabet = /[-_]/.test(text) ? 'url' : 'std';
  // The length protojson looks at counts the line breaks its decoder then skips.
  const grammar = (text.length % 4 === 0 ? PADDED : UNPADDED)[alphabet];
  const compact = text.replace(/[\r\n]/g, '');
  if (!grammar.test(compact)) return undefined;
  return new Uint8Array(Buffer.from(compact, alphabet === 'url' ? 'base64url' : 'base64'));
}

export function encodeStdBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
