import * as ort from 'onnxruntime-node';
import type { HiddenStates } from './pooling.js';
import type { TokenBatch } from './tokenizer.js';

// Inputs a feature-extraction export may declare; anything else (e.g. past_key_values) is not supported.
const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids', 'position_ids']);

/** `last_hidden_state` when the graph names it so, else its first output. */
export function hiddenStateOutput(session: ort.InferenceSession): string {
  const name = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0];
  if (name === undefined) throw new Error('onnx model declares no outputs');
  return name;
}

/** Throws when the graph needs an input we cannot supply, so a bad export fails at load, not per item. */
export function checkModelInputs(session: ort.InferenceSession): void {
  const unknown = session.inputNames.filter((n) => !KNOWN_INPUTS.has(n));
  if (unknown.length > 0 || !session.inputNames.includes('input_ids')) {
    throw new Error(
      `onnx model inputs [${session.inputNames.join(', ')}] unsupported: expected input_ids, attention_mask, ` +
        'and optionally token_type_ids / position_ids (export without past key values)',
    );
  }
}

/** int64 tensors for exactly the inputs the graph declares. */
export function modelFeeds(session: ort.InferenceSession, b: TokenBatch): Record<string, ort.Tensor> {
  const dims = [b.batch, b.seq];
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', b.inputIds, dims);
    else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', b.attentionMask, dims);
    else if (name === 'token_type_ids') feeds[name] = new ort.Tensor('int64', b.tokenTypeIds, dims);
    else if (name === 'position_ids') feeds[name] = new ort.Tensor('int64', positionIds(b), dims);
  }
  return feeds;
}

/** Runs the graph and returns its [batch, seq, hidden] output. */
export async function runHiddenStates(session: ort.InferenceSession, b: TokenBatch, outputName: string): Promise<HiddenStates> {
  const out = await session.run(modelFeeds(session, b), [outputName]);
  const t = out[outputName];
  if (t === undefined) throw new Error(`onnx model returned no ${outputName}`);
  if (t.dims.length !== 3 || t.type !== 'float32') {
    throw new Error(`onnx output ${outputName} is ${t.type}[${t.dims.join('x')}], expected float32 [batch, seq, hidden]`);
  }
  const hidden = Number(t.dims[2]);
  const data = t.data as Float32Array;
  return { data, batch: b.batch, seq: b.seq, hidden };
}

/** 0, 1, 2, … over real tokens (right padding keeps them aligned with the mask). */
function positionIds(b: TokenBatch): BigInt64Array {
  const p = new BigInt64Array(b.batch * b.seq);
  for (let r = 0; r < b.batch; r++) for (let s = 0; s < b.seq; s++) p[r * b.seq + s] = BigInt(s);
  return p;
}
