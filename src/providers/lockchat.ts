/**
 * Lockchat: an OpenAI proxy that always streams server-sent events, reached
 * with a token in the query string. Its upstream sometimes answers
 * "The model: `gpt-4` does not exist"; that is retried, bounded, with backoff,
 * and only while no text has been given to the caller.
 */
import { ModelNotFoundError } from '../core/errors.js';
import { createCallGuard, errorFromResponse, post, readErrorBody } from '../core/http.js';
import { backoffDelay, sleep } from '../core/retry.js';
import { chunksFromOpenAIEvent, findModelNotFound, parseJsonEvent, requestOptions } from './openai-wire.js';
import { isStrayLine, parseEventStream } from '../core/sse.js';
import type { Chunk, CompletionRequest, Provider, ProviderContext } from '../core/spec.js';

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
  createCompletion: lockchatCompletion,
};

async function* lockchatCompletion(request: CompletionRequest, context: ProviderContext): AsyncGenerator<Chunk> {
  const configured = context.settings?.token;
  const token = typeof configured === 'string' ? configured : process.env.G4F_LOCKCHAT_TOKEN || LOCKCHAT_DEFAULT_TOKEN;
  const url = `${context.baseUrl}/v1/chat/completions?auth=${encodeURIComponent(token)}`;
  const body = JSON.stringify({
    temperature: request.temperature ?? 0.7,
    messages: request.messages,
    model: request.model,
    stream: true,
    ...requestOptions(request),
  });
  const headers = { 'user-agent': LOCKCHAT_USER_AGENT, 'content-type': 'application/json', ...context.headers };
  const retry = context.retry ?? { attempts: 3, baseDelayMs: 250, maxDelayMs: 4_000 };
  const guard = createCallGuard(NAME, context.timeouts, { signal: request.signal, stream: request.stream });
  let yieldedText = false;
  try {
    for (let attempt = 1; ; attempt++) {
      const notFound = yield* attemptOnce();
      if (notFound === undefined) return;
      if (yieldedText || attempt >= retry.attempts) {
        throw new ModelNotFoundError(`${NAME}: ${notFound} (after ${attempt} attempt${attempt === 1 ? '' : 's'})`, attempt, {
          provider: NAME,
        });
      }
      await sleep(backoffDelay(attempt, retry), guard.signal);
    }
  } catch (error) {
    throw guard.toError(error);
  } finally {
    guard.dispose();
  }

  /** One HTTP exchange; returns the model-not-found message when the upstream said so. */
  async function* attemptOnce(): AsyncGenerator<Chunk, string | undefined> {
    const response = await post({ provider: NAME, url, headers, body, context, guard });
    let done = false;
    try {
      if (response.statusCode < 200 || response.statusCode >= 300) {
        const text = await readErrorBody(response.body);
        const notFound = findModelNotFound(text);
        if (notFound !== undefined) return notFound;
        throw errorFromResponse(NAME, response.statusCode, response.headers, text);
      }
      for await (const item of parseEventStream(response.body)) {
        if (isStrayLine(item)) {
          const notFound = findModelNotFound(item.stray);
          if (notFound !== undefined) return notFound;
          continue;
        }
        if (item.data === '[DONE]') {
          // Read to the end so the pooled connection can be reused.
          done = true;
          continue;
        }
        if (done) continue;
        const notFound = findModelNotFound(item.data);
        if (notFound !== undefined) return notFound;
        const event = parseJsonEvent(NAME, item.data);
        for (const chunk of chunksFromOpenAIEvent(NAME, event)) {
          if (chunk.type === 'text-delta') {
            if (chunk.text === '') continue;
            guard.gotFirstToken();
            yieldedText = true;
          }
          yield chunk;
        }
      }
      return undefined;
    } finally {
      response.body.destroy();
    }
  }
}
