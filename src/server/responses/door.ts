/**
 * OpenAI's Responses API:
 *
 *   POST   /v1/responses          create (a `response` object, or its events with `"stream": true`)
 *   GET    /v1/responses/{id}     a stored response
 *   DELETE /v1/responses/{id}     forget it
 *   POST   /v1/responses/{id}/cancel   a 400: there are no background responses
 *
 * (rows of the server's route table, app.ts). A response is stored unless the request says
 * `"store": false`: its object, and the conversation it holds (the history it continued, its
 * input and its output), which a later request continues with `previous_response_id`; an input
 * `item_reference` names one of its output items, whose id carries the response's. Stored
 * responses belong to the API key that made them (kept as its SHA-256); where the server needs no
 * key, they are everyone's.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatMessage } from '../../core/spec.js';
import type { RouteRequest, Router } from '../../routing/types.js';
import type { ResponseStore } from '../../store/response-store.js';
import { bearerToken } from '../auth.js';
import { readJsonBodySized, tooLarge } from '../body.js';
import type { ChatOutcome } from '../chat-completions.js';
import type { Metrics } from '../metrics.js';
import type { RouteCall } from '../route-table.js';
import { HttpRequestError } from '../openai-errors.js';
import { invalid, isRecord } from '../openai-request.js';
import { callIdsOf, parseInput } from './input.js';
import { countedText, endOf, itemIdsOf, newId, outputItems, responseObject, responseOfItem, type OutputItem, type ResponseState } from './output.js';
import { parseResponsesRequest, type ParsedResponsesRequest } from './request.js';
import { streamResponse, type ResponseRunContext } from './stream.js';
import { countUsage } from '../../core/token-count.js';

export interface ResponsesDoorOptions {
  router: Router;
  metrics: Metrics;
  bodyLimitBytes: number;
  /** The body limit of a request that carries images (and of one image). */
  imageBodyLimitBytes: number;
  logMessages: boolean;
  /** Whether the server checks API keys: then each stored response is its key's. */
  keysRequired: boolean;
  store: ResponseStore;
  healthExempt?: (messages: RouteRequest['messages']) => boolean;
}

/** What a request did, for its log line and metrics. */
export interface ResponsesRequestState extends ChatOutcome {
  messages?: unknown;
}

/** A request routed to this door (see route-table.ts); `params.id` names a stored response. */
export type ResponsesCall = RouteCall<ResponsesRequestState>;

export interface ResponsesDoor {
  /** `POST /v1/responses` */
  create(call: ResponsesCall): Promise<void>;
  /** `GET /v1/responses/:id` */
  retrieve(call: ResponsesCall): Promise<void>;
  /** `DELETE /v1/responses/:id` */
  remove(call: ResponsesCall): Promise<void>;
  /** `POST /v1/responses/:id/cancel`: there are no background responses to cancel. */
  cancel(call: ResponsesCall): Promise<void>;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

function sendJson(response: ServerResponse, status: number, headers: Record<string, string>, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
  });
  response.end(body);
}

function responseNotFound(id: string, param?: string): HttpRequestError {
  const options = param === undefined ? { code: 'not_found' } : { code: 'previous_response_not_found', param };
  return new HttpRequestError(404, param === undefined ? `No response found with id '${id}'.` : `Previous response with id '${id}' not found.`, options);
}

/** A stored conversation, as written by this door. */
function historyOf(value: unknown): ChatMessage[] {
  return Array.isArray(value) ? (value as ChatMessage[]) : [];
}

export function createResponsesDoor(options: ResponsesDoorOptions): ResponsesDoor {
  const { router, metrics, store } = options;

  /** Whose responses a request may see: its key's (hashed), or everyone's where no key is needed. */
  const ownerOf = (request: IncomingMessage): string => {
    if (!options.keysRequired) return '';
    const token = bearerToken(request.headers.authorization) ?? '';
    return createHash('sha256').update(token).digest('hex');
  };

  /**
   * The body with each `item_reference` of its input replaced by the stored output item it names
   * (the AI SDK refers to earlier assistant messages this way when responses are stored). An
   * item that is not stored, or is another key's, is a 404.
   */
  async function withReferencedItems(body: unknown, owner: string): Promise<unknown> {
    if (!isRecord(body) || !Array.isArray(body.input) || !body.input.some((item) => isRecord(item) && item.type === 'item_reference')) return body;
    const responses = new Map<string, Promise<unknown>>();
    const input = await Promise.all(
      body.input.map(async (item: unknown, index) => {
        if (!isRecord(item) || item.type !== 'item_reference') return item;
        const itemId = item.id;
        if (typeof itemId !== 'string' || itemId === '') throw invalid(`input[${index}].id`, 'is required: the id of a stored output item');
        const responseId = responseOfItem(itemId);
        if (responseId !== undefined && !responses.has(responseId))
          responses.set(
            responseId,
            store.get(responseId, owner).then((found) => found?.response),
          );
        const stored = responseId === undefined ? undefined : await responses.get(responseId);
        const output = isRecord(stored) && Array.isArray(stored.output) ? (stored.output as unknown[]) : [];
        const found = output.find((candidate) => isRecord(candidate) && candidate.id === itemId);
        if (found === undefined) {
          throw new HttpRequestError(404, `Item with id '${itemId}' not found.`, { code: 'item_not_found', param: `input[${index}].id` });
        }
        return found;
      }),
    );
    return { ...body, input };
  }

  async function create(call: ResponsesCall): Promise<void> {
    const { request, response, state } = call;
    const limit = Math.max(options.bodyLimitBytes, options.imageBodyLimitBytes);
    const body = await readJsonBodySized(request, limit, response);
    const owner = ownerOf(request);
    const parsed = parseResponsesRequest(await withReferencedItems(body.value, owner), { imageBytes: options.imageBodyLimitBytes });
    // Only a request with images may use the larger limit.
    if (body.bytes > options.bodyLimitBytes && !parsed.hasImages) throw tooLarge(options.bodyLimitBytes);
    state.model = parsed.model;
    state.stream = parsed.stream;
    let history: ChatMessage[] = [];
    if (parsed.previousResponseId !== undefined) {
      const previous = await store.get(parsed.previousResponseId, owner);
      if (previous === undefined) throw responseNotFound(parsed.previousResponseId, 'previous_response_id');
      history = historyOf(previous.history);
    } else if (parsed.store) {
      // Opens the store now: a store that cannot be opened fails the request before any upstream is asked.
      await store.get('', owner);
    }
    if (parsed.unmatched.length > 0) {
      const known = callIdsOf(history);
      const stray = parsed.unmatched.find((output) => !known.has(output.callId));
      if (stray !== undefined) throw invalid(stray.param, `no function call with call_id '${stray.callId}' was found in the input or in the previous response`);
    }
    const conversation = [...history, ...parsed.input];
    const messages: ChatMessage[] = parsed.instructions === undefined ? conversation : [{ role: 'system', content: parsed.instructions }, ...conversation];
    const routeRequest: RouteRequest = { ...parsed.settings, model: parsed.model, messages, stream: parsed.stream };
    if (parsed.provider !== undefined) routeRequest.provider = parsed.provider;
    if (options.healthExempt?.(messages) === true) routeRequest.healthExempt = true;
    if (options.logMessages) state.messages = messages;
    const signal = call.upstreamSignal();
    routeRequest.signal = signal;

    const id = newId('resp');
    const createdAt = Math.floor(Date.now() / 1000);
    const keep = async (finished: ResponseState): Promise<void> => {
      if (!parsed.store) return;
      // A failed answer's output is not part of the conversation: a continuation starts from its input.
      const output = finished.status === 'failed' ? [] : outputMessages(finished.output);
      await store.put({
        id,
        owner,
        status: finished.status,
        model: finished.model,
        createdAt,
        response: responseObject(finished, parsed.echo),
        history: [...conversation, ...output],
      });
    };
    if (parsed.stream) {
      const context: ResponseRunContext = {
        router,
        metrics,
        baseHeaders: call.headers,
        signal,
        startedAt: call.startedAt,
        request: routeRequest,
        echo: parsed.echo,
        id,
        createdAt,
        finish: keep,
      };
      return streamResponse(response, context, state);
    }
    return whole(call, parsed, routeRequest, id, createdAt, keep);
  }

  async function whole(
    call: ResponsesCall,
    parsed: ParsedResponsesRequest,
    routeRequest: RouteRequest,
    id: string,
    createdAt: number,
    keep: (state: ResponseState) => Promise<void>,
  ): Promise<void> {
    const { response, state } = call;
    const result = await router.complete(routeRequest);
    state.model = result.model;
    state.provider = result.provider;
    if (result.attempts.length > 0) state.attempts = result.attempts;
    const end = endOf(result.finishReason);
    const output = outputItems(result, end.status === 'completed' ? 'completed' : 'incomplete', itemIdsOf(id));
    const usage = result.usage ?? (await countUsage(routeRequest.messages, countedText(output)));
    state.usage = usage;
    const finished: ResponseState = { id, createdAt, model: result.model, status: end.status, output, usage, incompleteDetails: end.incompleteDetails };
    await keep(finished);
    if (response.destroyed) return;
    sendJson(response, 200, { ...call.headers, 'x-g4f-provider': result.provider }, responseObject(finished, parsed.echo));
  }

  /** The stored response of `:id`, for the request's key; an id that cannot be one is an unknown route. */
  async function storedId(call: ResponsesCall): Promise<string> {
    const id = call.params.id ?? '';
    if (!ID_PATTERN.test(id)) throw new HttpRequestError(404, `Unknown route: ${call.method} ${call.path}`, { code: 'unknown_url' });
    return id;
  }

  return {
    create,
    async retrieve(call) {
      const id = await storedId(call);
      if (call.query.get('stream') === 'true') throw invalid('stream', 'replaying the events of a stored response is not supported by this server');
      const found = await store.get(id, ownerOf(call.request));
      if (found === undefined) throw responseNotFound(id);
      sendJson(call.response, 200, call.headers, found.response);
    },
    async remove(call) {
      const id = await storedId(call);
      if (!(await store.delete(id, ownerOf(call.request)))) throw responseNotFound(id);
      sendJson(call.response, 200, call.headers, { id, object: 'response.deleted', deleted: true });
    },
    async cancel(call) {
      await storedId(call);
      throw new HttpRequestError(400, 'Only background responses can be cancelled, and this server runs none.', {
        code: 'invalid_request',
        param: 'response_id',
      });
    },
  };
}

/** A response's output items as the messages of the conversation they continue. */
function outputMessages(output: readonly OutputItem[]): ChatMessage[] {
  return output.length === 0 ? [] : parseInput(output, { imageBytes: 0 }).messages;
}
