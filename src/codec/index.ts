// Public surface of the Avro wire format.
export { AvroCodec, decode, defaultCodec, encode } from './codec.js';
export { CODEC_ERROR_REASONS, CodecError, isCodecError, type CodecErrorReason } from './errors.js';
export { RABIN_EMPTY, fingerprintHex, rabinFingerprint, schemaFingerprint } from './rabin.js';
export { canonicalForm } from './canonical.js';
export { SchemaRegistry, type SchemaSource, type SchemaVersion } from './registry.js';
export { RECORD_NAMES, type ItemContent, type ItemListing, type RecordName, type RecordTypes, type UserEvent } from './records.js';
export { HEADER_LENGTH } from './single-object.js';
