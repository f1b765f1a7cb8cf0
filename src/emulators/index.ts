/** Public API of the upstream emulators (tests, benchmarks, `g4f serve --demo`). */
export { createEmulator } from './upstream.js';
export { startEmulators, type StartEmulatorsOptions, type StartedEmulators } from './start-emulators.js';
export {
  DEFAULT_CHUNK_COUNT,
  DEFAULT_MODEL,
  countWords,
  demoText,
  echoText,
  splitText,
  splitWords,
  tokenChunks,
} from './replies.js';
export { openAiError } from './wire.js';
export { DEFAULT_EMBEDDING_DIMENSIONS, base64Embedding, emulatedEmbedding } from './embeddings.js';
export type {
  Emulator,
  EmulatorEvents,
  EmulatorOptions,
  EmulatorProtocol,
  ModelNotFoundFraming,
  Plan,
  PlanScript,
  PlanToolCall,
  RecordedRequest,
  ResponseOutcome,
  WaitForIdleOptions,
} from './plan.js';
