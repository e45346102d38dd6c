// What the llama.cpp probe's parent (llm-probe.ts) and child (llm-probe-child.ts) say to each other.
import { z } from 'zod';
import { LLM_RUNTIME_REASONS } from './llm-runtime.js';
import { ENCODER_DEVICES } from './onnx-session.js';

/** Test-only: `abort` makes the probe child abort (SIGABRT) once llama.cpp has loaded. */
export const PROBE_FAULT_ENV = 'LEARN_TEST_LLM_PROBE_FAULT';

/** A short item text in the product's prompt: every layer runs once on the device. */
export const PROBE_TEXT = 'The item information is given as follows. Item title is "Toy Story (1995)". This item belongs to "Animation, Children\'s, Comedy".';

export const llmProbeRequestSchema = z.object({
  device: z.enum(ENCODER_DEVICES),
  modelPath: z.string().min(1),
  /** The encoder's own load overrides (`{ <arch>: { pooling_type } }`), so the probe runs the graph the encoder will. */
  metadataOverrides: z.record(z.string(), z.record(z.string(), z.number())),
});
export type LlmProbeRequest = z.infer<typeof llmProbeRequestSchema>;

export const llmProbeMessageSchema = z.discriminatedUnion('ok', [
  /** gpu: the backend llama.cpp loaded ('cuda', 'vulkan', ...), false for its CPU build. */
  z.object({ ok: z.literal(true), gpu: z.union([z.string(), z.literal(false)]), dim: z.number().int().positive().optional() }),
  z.object({ ok: z.literal(false), error: z.object({ message: z.string(), reason: z.enum(LLM_RUNTIME_REASONS).optional() }) }),
]);
export type LlmProbeMessage = z.infer<typeof llmProbeMessageSchema>;
