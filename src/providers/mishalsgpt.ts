/**
 * Mishalsgpt: an OpenAI-compatible endpoint under `/api/openai/v1`. It declares
 * streaming, so it really streams: with `stream: true` it asks the upstream to
 * stream and relays deltas; a plain JSON answer is yielded whole, once.
 */
import { createOpenAICompatibleProvider } from './openai-compatible.js';

export const Mishalsgpt = createOpenAICompatibleProvider({
  name: 'Mishalsgpt',
  url: 'https://mishalsgpt.vercel.app',
  path: '/api/openai/v1/chat/completions',
  models: ['gpt-3.5-turbo-16k-0613', 'gpt-3.5-turbo'],
  supportsStream: true,
  needsAuth: false,
  kind: 'builtin',
  // The original body is {model, temperature, messages}: no stream field unless streaming.
  sendStreamFalse: false,
  // The seed's default.
  defaultTemperature: 0.7,
  // Text in, text out, as the seed describes: no tools, images, structured output or reasoning.
  capabilities: {},
});
