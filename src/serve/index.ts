/** The serving read path: top-K from Redis only, as a library, CLI and HTTP. */
export { Recommender, type Recommendations, type RecommenderOptions } from './recommender.js';
export { ItemIndex, type ScoredItem } from './item-index.js';
export { ServeError, parseK, MAX_K, type ServeErrorCode } from './errors.js';
export { createHttpServer } from './http-server.js';
export { topKInnerProduct } from './top-k.js';
