/** The Redis vector store: versioned, ordered, idempotent writes and version-pinned reads. */
export { StoreKeys, type VectorKind } from './keys.js';
export { encodeVector, decodeVector } from '../codec/vector.js';
export { StoreError, BackpressureError } from './errors.js';
export { VectorStore, type VectorStoreOptions, type VectorWrite, type Interaction, type WriteResult, type RejectReason } from './vector-store.js';
export { VersionView, seenItems, type ItemChanges } from './reader.js';
export type { NewVersionMeta, VersionMeta, VersionState } from './versions.js';
export { createRedisClient, connectWithin } from './redis-client.js';
