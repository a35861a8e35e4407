/**
 * Base64 as Go's `base64.StdEncoding` reads it, which is how cosign and
 * containers/image decode signature annotations and `[]byte` JSON fields:
 * the standard alphabet, padding required, and `\r` / `\n` skipped wherever
 * they occur (encoding/base64 decoder). Node's own decoder is far more lenient
 * (it ignores bad characters, accepts missing padding and the URL alphabet),
 * so input is checked against the grammar first.
 */

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The decoded bytes, or undefined if `text` is not standard base64. */
export function decodeStdBase64(text: string): Uint8Array | undefined {
  const compact = text.replace(/[\r\n]/g, '');
  if (!STD_BASE64.test(compact)) return undefined;
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

export function encodeStdBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
