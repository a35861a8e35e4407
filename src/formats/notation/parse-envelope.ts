/**
 * One entry point for both envelope formats: the signature manifest's layer
 * media type (or a blob signature's file extension) says which one the bytes
 * are (signature-specification.md FAQ), and nothing else is tried.
 */
import { denied } from '../../core/errors.ts';
import { quote } from '../json-fields.ts';
import { parseCoseEnvelope } from './cose.ts';
import {
  COSE_ENVELOPE_MEDIA_TYPE,
  type EnvelopeReadOptions,
  JWS_ENVELOPE_MEDIA_TYPE,
  type NotationEnvelope,
} from './envelope.ts';
import { parseJwsEnvelope } from './jws.ts';

/** Parses `bytes` as the envelope `mediaType` names; throws `denied` NOTATION_ENVELOPE_INVALID. */
export function parseNotationEnvelope(
  mediaType: string,
  bytes: Uint8Array,
  options?: EnvelopeReadOptions,
): NotationEnvelope {
  switch (mediaType) {
    case JWS_ENVELOPE_MEDIA_TYPE:
      return parseJwsEnvelope(bytes, options);
    case COSE_ENVELOPE_MEDIA_TYPE:
      return parseCoseEnvelope(bytes, options);
    default:
      throw denied(
        'NOTATION_ENVELOPE_INVALID',
        `${quote(mediaType)} is not a Notary Project envelope media type (${JWS_ENVELOPE_MEDIA_TYPE} or ${COSE_ENVELOPE_MEDIA_TYPE})`,
      );
  }
}
