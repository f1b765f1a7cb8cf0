/**
 * Lockchat: an OpenAI proxy that always streams server-sent events, reached
 * with a token in the query string. Its upstream sometimes answers
 * "The model: `gpt-4` does not exist"; that is retried, bounded, with backoff,
 * and only while no text has been given to the caller.
 */
import { ModelNotFoundError, isG4FError } from '../core/errors.js';
import { groupedChunks } from '../core/batches.js';
import { createCallGuard, joinUrl, post, secretHeaderValues, urlSecrets } from '../core/http.js';
import { isOutputChunk } from '../core/messages.js';
import { backoffDelay, sleep } from '../core/retry.js';
import type { Chunk, CompletionRequest, Provider, ProviderContext } from '../core/spec.js';
import { errorOfReply, readEventStreamReply } from './openai-stream.js';
import { openAIMessages, requestOptions } from './openai-wire.js';

const NAME = 'Lockchat';
export const LOCKCHAT_DEFAULT_TOKEN = 'FnMNPlwZEnGFqvEc9470Vw==';
export const LOCKCHAT_USER_AGENT = 'ChatX/39 CFNetwork/1408.0.4 Darwin/22.5.0';

export const Lockchat: Provider = {
  name: NAME,
  url: 'http://supertest.lockchat.app',
  models: ['gpt-4', 'gpt-3.5-turbo'],
  supportsStream: true,
  needsAuth: false,
  kind: 'builtin',
  // Text in, text out, as the seed describes: no tools, images, structured output or reasoning.
  capabilities: {},
  createCompletion: (request, context) => groupedChunks(() => lockchatBatches(request, context)),
};

async function* lockchatBatches(request: CompletionRequest, context: ProviderContext): AsyncGenerator<readonly Chunk[]> {
  const configured = context.settings?.token;
  const token = typeof configured === 'string' ? configured : process.env.G4F_LOCKCHAT_TOKEN || LOCKCHAT_DEFAULT_TOKEN;
  const url = joinUrl(context.baseUrl, `/v1/chat/completions?auth=${encodeURIComponent(token)}`);
  const body = JSON.stringify({
    temperature: request.temperature ?? 0.7,
    messages: openAIMessages(request.messages, true),
    model: request.model,
    stream: true,
    ...requestOptions(request, NAME),
  });
  const headers = { 'user-agent': LOCKCHAT_USER_AGENT, 'content-type': 'application/json', ...context.headers };
  const retry = context.retry ?? { attempts: 3, baseDelayMs: 250, maxDelayMs: 4_000 };
  const guard = createCallGuard(NAME, context.timeouts, { signal: request.signal, stream: request.stream });
  const reply = { provider: NAME, guard, secrets: [token, ...urlSecrets(context.baseUrl), ...secretHeaderValues(context.headers)], limits: context.limits };
  let yieldedText = false;
  try {
    for (let attempt = 1; ; attempt++) {
      const response = await post({ provider: NAME, url, headers, body, context, guard });
      try {
        if (response.statusCode < 200 || response.statusCode >= 300) throw await errorOfReply(response, reply);
        for await (const batch of readEventStreamReply(response, reply)) {
          if (!yieldedText) yieldedText = batch.some(isOutputChunk);
          yield batch;
        }
        return;
      } catch (error) {
        if (!isG4FError(error, 'ModelNotFoundError')) throw error;
        if (yieldedText || attempt >= retry.attempts) {
          throw new ModelNotFoundError(`${error.message} (after ${attempt} attempt${attempt === 1 ? '' : 's'})`, attempt, {
            provider: NAME,
          });
        }
      } finally {
        response.body.destroy();
      }
      await sleep(backoffDelay(attempt, retry), guard.signal);
    }
  } catch (error) {
    throw guard.toError(error);
  } finally {
    guard.dispose();
  }
}
