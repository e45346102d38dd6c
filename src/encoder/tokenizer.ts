import { readFile } from 'node:fs/promises';
import { Tokenizer } from '@huggingface/tokenizers';

/** A padded batch, row-major [batch, seq], ready to become int64 ONNX tensors. */
export interface TokenBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
  batch: number;
  seq: number;
  /** Real (unpadded) length of each row. */
  lengths: number[];
}

interface TokenizerFileJson {
  padding?: { pad_id?: number } | null;
}

/**
 * The part of the library's Tokenizer we use. Its published .d.ts files use extension-less relative
 * imports, which NodeNext resolution cannot follow, so the class arrives untyped; this restores the types.
 */
interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
}

interface TokenizerConfigJson {
  pad_token?: string | { content?: string };
}

/**
 * The model's own tokenizer (tokenizer.json through @huggingface/tokenizers) plus what that library leaves
 * out: truncation to a maximum length that keeps the special tokens, and right-padding per batch.
 */
export class TextTokenizer {
  private readonly tokenizer: HfTokenizer;
  /** Special tokens the post-processor puts around a single sequence, e.g. [CLS] … [SEP] or <s> …. */
  private readonly prefix: number[];
  private readonly suffix: number[];
  readonly padId: number;

  constructor(
    tokenizerJson: object,
    tokenizerConfig: object,
    readonly maxTokens: number,
  ) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig) as HfTokenizer;
    [this.prefix, this.suffix] = this.specialTokenFrame();
    if (maxTokens <= this.prefix.length + this.suffix.length) {
      throw new Error(`maxTokens ${maxTokens} leaves no room for text beside ${this.prefix.length + this.suffix.length} special tokens`);
    }
    const pad = (tokenizerJson as TokenizerFileJson).padding?.pad_id;
    const padToken = (tokenizerConfig as TokenizerConfigJson).pad_token;
    const padName = typeof padToken === 'string' ? padToken : padToken?.content;
    // Decoder LLMs often have no pad token: any id works, the attention mask hides the padding.
    this.padId = pad ?? (padName === undefined ? undefined : this.tokenizer.token_to_id(padName)) ?? 0;
  }

  static async fromFiles(tokenizerFile: string, maxTokens: number, tokenizerConfigFile?: string): Promise<TextTokenizer> {
    const json = JSON.parse(await readFile(tokenizerFile, 'utf8')) as object;
    const config = tokenizerConfigFile ? (JSON.parse(await readFile(tokenizerConfigFile, 'utf8')) as object) : {};
    return new TextTokenizer(json, config, maxTokens);
  }

  /** Token ids with the model's special tokens, at most maxTokens long (the text is cut, the frame kept). */
  encode(text: string): number[] {
    const body = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const room = this.maxTokens - this.prefix.length - this.suffix.length;
    return [...this.prefix, ...(body.length > room ? body.slice(0, room) : body), ...this.suffix];
  }

  /** Pads already-encoded rows on the right to the longest row in the batch. */
  pad(rows: number[][]): TokenBatch {
    const batch = rows.length;
    const seq = Math.max(1, ...rows.map((r) => r.length));
    const inputIds = new BigInt64Array(batch * seq).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(batch * seq);
    rows.forEach((r, b) => {
      for (let s = 0; s < r.length; s++) {
        inputIds[b * seq + s] = BigInt(r[s]!);
        attentionMask[b * seq + s] = 1n;
      }
    });
    // Single-sequence input: every type id is 0.
    return { inputIds, attentionMask, tokenTypeIds: new BigInt64Array(batch * seq), batch, seq, lengths: rows.map((r) => r.length) };
  }

  encodeBatch(texts: string[]): TokenBatch {
    return this.pad(texts.map((t) => this.encode(t)));
  }

  /** Finds the special-token frame by encoding a probe with and without special tokens. */
  private specialTokenFrame(): [number[], number[]] {
    const probe = 'hello world';
    const full = this.tokenizer.encode(probe).ids;
    const body = this.tokenizer.encode(probe, { add_special_tokens: false }).ids;
    for (let start = 0; start + body.length <= full.length; start++) {
      if (body.every((id, i) => full[start + i] === id)) {
        return [full.slice(0, start), full.slice(start + body.length)];
      }
    }
    throw new Error('tokenizer: cannot locate the text inside its special-token template');
  }
}
