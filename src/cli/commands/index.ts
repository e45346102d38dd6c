import type { Command } from 'commander';
import { registerPipelineBench } from './bench.js';
import { registerLoadBench } from './bench-load.js';
import { registerConfig } from './config.js';
import { registerData } from './data.js';
import { registerModelBench } from './model.js';
import { registerNative } from './native.js';
import { registerDemo } from './demo.js';
import { registerCompare, registerReplay } from './replay.js';
import { registerEncoder } from './encoder.js';
import { registerEval } from './eval.js';
import { registerRoles } from './roles.js';
import { registerStack } from './stack.js';
import { registerTopics } from './topics.js';
import { registerServe } from './serve.js';

/** One function per command group; each adds its subcommands to the program. */
export type RegisterCommands = (program: Command) => void;

// Each group lives in its own file beside this one; add it here.
export const commands: RegisterCommands[] = [registerPipelineBench, registerConfig, registerStack, registerTopics, registerDemo, registerReplay, registerCompare, registerRoles, registerEncoder, registerData, registerModelBench, registerServe, registerLoadBench, registerNative, registerEval];
