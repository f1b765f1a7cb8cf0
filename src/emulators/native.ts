/** Public API of the emulators of the native upstream protocols (Anthropic, Ollama, Gemini). */
export { createNativeEmulator } from './native-server.js';
export type {
  NativeEmulator,
  NativeEmulatorEvents,
  NativeEmulatorOptions,
  NativePlan,
  NativePlanScript,
  NativeProtocol,
  NativeRecordedRequest,
  NativeToolCall,
} from './native-plan.js';
