/**
 * A streamed response: the contract's stream parts written as OpenAI's Responses events, each
 * with its `event:` line and a `sequence_number` counted from 0:
 *
 *   response.created, response.in_progress,
 *   per output item: response.output_item.added, then
 *     a message:   response.content_part.added, response.output_text.delta..., response.output_text.done, response.content_part.done
 *     reasoning:   response.reasoning_summary_part.added, response.reasoning_summary_text.delta..., .done, response.reasoning_summary_part.done
 *     a call:      response.function_call_arguments.delta..., response.function_call_arguments.done
 *   and response.output_item.done, before the next item is added (one item at a time);
 *   last response.completed (response.incomplete when the answer was cut by max_output_tokens),
 *   or, when the answer fails after it started, an `error` event and response.failed.
 *
 * Headers are written with the first upstream output, so a failure before it (after every
 * fallback) is an ordinary HTTP error.
 */
import type { ServerResponse } from 'node:http';
import type { Chunk, FinishReason, Usage } from '../../core/spec.js';
import type { RouteRequest, Router } from '../../routing/types.js';
import type { ChatOutcome } from '../chat-completions.js';
import type { Metrics } from '../metrics.js';
import { shutdownReason, toOpenAIError } from '../openai-errors.js';
import { countUsage } from '../../core/token-count.js';
import {
  countedText,
  endOf,
  itemIdsOf,
  newId,
  outputText,
  responseObject,
  type FunctionCallItem,
  type ItemStatus,
  type MessageItem,
  type OutputItem,
  type ReasoningItem,
  type ResponseState,
} from './output.js';
import type { RequestEcho } from './request.js';
import { createSseWriter, relayBatches } from '../sse-writer.js';

export interface ResponseRunContext {
  router: Router;
  metrics: Metrics;
  /** Headers every answer carries (request id, CORS). */
  baseHeaders: Record<string, string>;
  /** Aborted when the client goes away (or at the shutdown deadline). */
  signal: AbortSignal;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  request: RouteRequest;
  echo: RequestEcho;
  /** `resp_...` */
  id: string;
  /** Unix seconds. */
  createdAt: number;
  /** Keeps the finished response (when stored) before its last event is written. */
  finish(state: ResponseState): Promise<void>;
}

/** The error of a failed response (`response.error`): OpenAI's codes, `server_error` or `rate_limit_exceeded`. */
function responseError(status: number, message: string): { code: string; message: string } {
  return { code: status === 429 ? 'rate_limit_exceeded' : 'server_error', message };
}

interface OpenText {
  item: MessageItem | ReasoningItem;
  outputIndex: number;
  text: string;
}

interface OpenCall {
  item: FunctionCallItem;
  /** Undefined while the call is held back (not announced yet). */
  outputIndex?: number;
}

export async function streamResponse(response: ServerResponse, context: ResponseRunContext, outcome: ChatOutcome): Promise<void> {
  const stream = context.router.stream(context.request);
  const state: ResponseState = { id: context.id, createdAt: context.createdAt, model: context.request.model, status: 'in_progress', output: [] };
  const itemId = itemIdsOf(context.id);
  let sequence = 0;
  let started = false;
  let firstOutput = false;
  let finishReason: FinishReason = 'stop';
  let usage: Usage | undefined;
  let openText: OpenText | undefined;
  // Calls stay open until another kind of output comes or the answer ends: an upstream may
  // interleave the fragments of parallel calls. As OpenAI does, one item streams at a time: the
  // first call streams as it comes; the calls after it are held back and follow it whole, each
  // added, its arguments in one delta, and done, before the next (by upstream index order).
  const openCalls = new Map<number, OpenCall>();

  // Events of one upstream read leave in one write.
  const writer = createSseWriter(response);
  /** Sends one event, numbered (its fields written out in full: an object spread is built slowly, and deltas are most events). */
  const emit = (event: { type: string; [field: string]: unknown }): void => {
    event.sequence_number = sequence;
    sequence += 1;
    writer.send(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  const snapshot = (): Record<string, unknown> => responseObject(state, context.echo);

  const addItem = (item: OutputItem): number => {
    const outputIndex = state.output.length;
    state.output.push(item);
    emit({ type: 'response.output_item.added', output_index: outputIndex, item });
    return outputIndex;
  };

  const closeText = (status: ItemStatus): void => {
    if (openText === undefined) return;
    const { item, outputIndex, text } = openText;
    openText = undefined;
    if (item.type === 'message') {
      const part = outputText(text);
      emit({ type: 'response.output_text.done', item_id: item.id, output_index: outputIndex, content_index: 0, text, logprobs: [] });
      emit({ type: 'response.content_part.done', item_id: item.id, output_index: outputIndex, content_index: 0, part });
      item.content = [part];
      item.status = status;
    } else {
      const part = { type: 'summary_text', text } as const;
      emit({ type: 'response.reasoning_summary_text.done', item_id: item.id, output_index: outputIndex, summary_index: 0, text });
      emit({ type: 'response.reasoning_summary_part.done', item_id: item.id, output_index: outputIndex, summary_index: 0, part });
      item.summary = [part];
    }
    emit({ type: 'response.output_item.done', output_index: outputIndex, item });
  };

  const closeCalls = (status: ItemStatus): void => {
    const calls = [...openCalls.entries()].sort(([a, first], [b, second]) => (first.outputIndex ?? Infinity) - (second.outputIndex ?? Infinity) || a - b);
    openCalls.clear();
    for (const [, call] of calls) {
      const { item } = call;
      let outputIndex = call.outputIndex;
      if (outputIndex === undefined) {
        const { arguments: text } = item;
        item.arguments = '';
        outputIndex = addItem(item);
        item.arguments = text;
        if (text !== '') emit({ type: 'response.function_call_arguments.delta', item_id: item.id, output_index: outputIndex, delta: text });
      }
      emit({ type: 'response.function_call_arguments.done', item_id: item.id, output_index: outputIndex, name: item.name, arguments: item.arguments });
      item.status = status;
      emit({ type: 'response.output_item.done', output_index: outputIndex, item });
    }
  };

  const openTextItem = (kind: 'message' | 'reasoning'): OpenText => {
    if (openText?.item.type === kind) return openText;
    closeText('completed');
    closeCalls('completed');
    if (kind === 'message') {
      const item: MessageItem = { id: itemId('msg'), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
      const outputIndex = addItem(item);
      const part = outputText('');
      emit({ type: 'response.content_part.added', item_id: item.id, output_index: outputIndex, content_index: 0, part });
      item.content = [part];
      openText = { item, outputIndex, text: '' };
    } else {
      const item: ReasoningItem = { id: itemId('rs'), type: 'reasoning', summary: [] };
      const outputIndex = addItem(item);
      const part = { type: 'summary_text', text: '' } as const;
      emit({ type: 'response.reasoning_summary_part.added', item_id: item.id, output_index: outputIndex, summary_index: 0, part });
      item.summary = [{ ...part }];
      openText = { item, outputIndex, text: '' };
    }
    return openText;
  };

  const noteOutput = (): void => {
    if (firstOutput) return;
    firstOutput = true;
    context.metrics.firstToken(outcome.provider ?? '', performance.now() - context.startedAt);
  };

  const writeBatch = (batch: readonly Chunk[]): void => {
    for (const chunk of batch) {
      // One answer per response: the Responses API has no `n`.
      if ('choice' in chunk && chunk.choice !== undefined && chunk.choice !== 0) continue;
      switch (chunk.type) {
        case 'text-delta':
        case 'reasoning-delta': {
          if (chunk.text === '') break;
          noteOutput();
          const open = openTextItem(chunk.type === 'text-delta' ? 'message' : 'reasoning');
          open.text += chunk.text;
          if (open.item.type === 'message') {
            (open.item.content[0] as { text: string }).text = open.text;
            emit({
              type: 'response.output_text.delta',
              item_id: open.item.id,
              output_index: open.outputIndex,
              content_index: 0,
              delta: chunk.text,
              logprobs: [],
            });
          } else {
            (open.item.summary[0] as { text: string }).text = open.text;
            emit({ type: 'response.reasoning_summary_text.delta', item_id: open.item.id, output_index: open.outputIndex, summary_index: 0, delta: chunk.text });
          }
          break;
        }
        case 'tool-call-delta': {
          noteOutput();
          closeText('completed');
          let call = openCalls.get(chunk.index);
          if (call === undefined) {
            const item: FunctionCallItem = {
              id: itemId('fc'),
              type: 'function_call',
              status: 'in_progress',
              arguments: '',
              call_id: chunk.id ?? newId('call'),
              name: chunk.name ?? '',
            };
            // Only the first open call streams; the others wait for it (closeCalls).
            call = openCalls.size === 0 ? { item, outputIndex: addItem(item) } : { item };
            openCalls.set(chunk.index, call);
          } else if (call.item.name === '' && chunk.name !== undefined) {
            call.item.name = chunk.name;
          }
          if (chunk.argumentsDelta !== '') {
            call.item.arguments += chunk.argumentsDelta;
            if (call.outputIndex !== undefined) {
              emit({ type: 'response.function_call_arguments.delta', item_id: call.item.id, output_index: call.outputIndex, delta: chunk.argumentsDelta });
            }
          }
          break;
        }
        case 'usage':
          usage = chunk.usage;
          break;
        case 'finish':
          finishReason = chunk.reason;
          break;
        case 'logprobs':
          break;
      }
    }
  };

  const start = (): void => {
    started = true;
    state.model = stream.model || context.request.model;
    const provider = stream.provider ?? '';
    outcome.model = state.model;
    outcome.provider = provider;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'x-g4f-provider': provider,
      ...context.baseHeaders,
    });
    context.metrics.streamStarted();
    emit({ type: 'response.created', response: snapshot() });
    emit({ type: 'response.in_progress', response: snapshot() });
  };

  try {
    // One group of chunks per upstream read: one async step per read, not per chunk.
    if (!(await relayBatches(stream.batches(), response, writer, start, writeBatch))) return;
    if (!started) start();
    const end = endOf(openCalls.size > 0 && finishReason === 'stop' ? 'tool_calls' : finishReason);
    const itemStatus: ItemStatus = end.status === 'completed' ? 'completed' : 'incomplete';
    if (state.output.length === 0) openTextItem('message');
    closeText(itemStatus);
    closeCalls(itemStatus);
    usage ??= await countUsage(context.request.messages, countedText(state.output));
    outcome.usage = usage;
    state.usage = usage;
    state.status = end.status;
    state.incompleteDetails = end.incompleteDetails;
    await context.finish(state);
    emit({ type: end.status === 'completed' ? 'response.completed' : 'response.incomplete', response: snapshot() });
    const events = writer.take();
    response.end(events);
  } catch (error) {
    if (!started) throw error;
    outcome.streamError = error;
    const mapped = toOpenAIError(shutdownReason(context.signal) ?? error);
    const detail = mapped.body.error;
    for (const item of state.output) if (item.type !== 'reasoning' && item.status === 'in_progress') item.status = 'incomplete';
    state.status = 'failed';
    state.error = responseError(mapped.status, detail.message);
    if (usage !== undefined) state.usage = usage;
    try {
      await context.finish(state);
    } catch {
      // The answer failed already: the client hears of that failure, not of the store's.
    }
    if (!response.destroyed) {
      // `error` carries the error under `error` too: the SDKs raise on that key.
      emit({ type: 'error', code: detail.code, message: detail.message, param: detail.param, error: detail });
      emit({ type: 'response.failed', response: snapshot() });
      const events = writer.take();
      response.end(events);
    }
  } finally {
    if (started) {
      context.metrics.streamEnded();
      if (stream.attempts.length > 0) outcome.attempts = stream.attempts;
    }
  }
}
