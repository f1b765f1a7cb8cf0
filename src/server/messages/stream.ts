/**
 * A streamed answer of `POST /v1/messages`: Anthropic's server-sent events. `message_start` and a
 * `ping`, then one content block per run of text or reasoning (`text_delta`, `thinking_delta`),
 * each closed before the next opens; the tool calls last, one `tool_use` block each with its
 * input in one `input_json_delta` (held until the upstream has finished the call, so that the
 * input is always a JSON object); `message_delta` with the stop reason and usage; `message_stop`.
 * A failure after the start is one `error` event, and no `message_stop`.
 */
import type { ServerResponse } from 'node:http';
import { createToolCallCollector } from '../../core/messages.js';
import type { Chunk, FinishReason, Usage } from '../../core/spec.js';
import type { ChatOutcome } from '../chat-completions.js';
import { shutdownReason } from '../openai-errors.js';
import type { MessagesAnswerContext } from './answer.js';
import { stopReason, toolUseBlock, wireUsage } from './answer-blocks.js';
import { countInputTokens, countOutputTokens } from './count.js';
import { toAnthropicError } from './errors.js';
import type { ParsedMessagesRequest } from './request.js';
import { createSseWriter, relayBatches } from '../sse-writer.js';

export interface MessagesStreamContext extends MessagesAnswerContext {
  /** Aborted when the client goes away (or at the shutdown deadline). */
  signal: AbortSignal;
  requestId: string;
}

function event(type: string, data: string): string {
  return `event: ${type}\ndata: ${data}\n\n`;
}

type BlockKind = 'text' | 'thinking';

export async function streamMessage(
  response: ServerResponse,
  parsed: ParsedMessagesRequest,
  context: MessagesStreamContext,
  outcome: ChatOutcome,
): Promise<void> {
  const stream = context.router.stream(parsed.request);
  // Counted while the upstream is asked: message_start carries it (the upstream's count, when it gives one, comes in message_delta).
  const localInput = countInputTokens(parsed.request).catch(() => 0);
  const calls = createToolCallCollector();
  let started = false;
  let firstOutput = false;
  let open: BlockKind | undefined;
  let blocks = 0;
  let finish: FinishReason = 'stop';
  let stopSequence: string | undefined;
  let usage: Usage | undefined;
  let produced = '';
  // Events of one upstream read leave in one write.
  const writer = createSseWriter(response);
  const send = writer.send;
  const noteOutput = (): void => {
    if (firstOutput) return;
    firstOutput = true;
    context.metrics.firstToken(outcome.provider ?? '', performance.now() - context.startedAt);
  };
  // The upstream's signature of the open thinking block (Anthropic's), sent as its last delta.
  let signature: string | undefined;
  const closeBlock = (): void => {
    if (open === undefined) return;
    if (open === 'thinking' && signature !== undefined) {
      send(
        event(
          'content_block_delta',
          `{"type":"content_block_delta","index":${blocks - 1},"delta":{"type":"signature_delta","signature":${JSON.stringify(signature)}}}`,
        ),
      );
    }
    signature = undefined;
    send(event('content_block_stop', `{"type":"content_block_stop","index":${blocks - 1}}`));
    open = undefined;
  };
  /** A delta of a text or thinking run: a new block when the run changes kind. */
  const runDelta = (kind: BlockKind, text: string): void => {
    if (open !== kind) {
      closeBlock();
      open = kind;
      const block = kind === 'text' ? '{"type":"text","text":""}' : '{"type":"thinking","thinking":"","signature":""}';
      send(event('content_block_start', `{"type":"content_block_start","index":${blocks},"content_block":${block}}`));
      blocks += 1;
    }
    const delta = kind === 'text' ? `{"type":"text_delta","text":${JSON.stringify(text)}}` : `{"type":"thinking_delta","thinking":${JSON.stringify(text)}}`;
    send(event('content_block_delta', `{"type":"content_block_delta","index":${blocks - 1},"delta":${delta}}`));
  };
  const writeBatch = (batch: readonly Chunk[]): void => {
    for (const chunk of batch) {
      switch (chunk.type) {
        case 'text-delta':
        case 'reasoning-delta':
          if ((chunk.choice ?? 0) === 0 && chunk.type === 'reasoning-delta' && chunk.signature !== undefined && open === 'thinking')
            signature = chunk.signature;
          if ((chunk.choice ?? 0) !== 0 || chunk.text === '') break;
          noteOutput();
          produced += chunk.text;
          runDelta(chunk.type === 'text-delta' ? 'text' : 'thinking', chunk.text);
          break;
        case 'tool-call-delta':
          if ((chunk.choice ?? 0) !== 0) break;
          noteOutput();
          calls.add(chunk);
          break;
        case 'usage':
          usage = chunk.usage;
          break;
        case 'finish':
          if ((chunk.choice ?? 0) === 0) {
            finish = chunk.reason;
            stopSequence = chunk.stopSequence;
          }
          break;
        case 'logprobs':
          break;
      }
    }
  };
  const start = async (): Promise<void> => {
    started = true;
    const model = stream.model || parsed.model;
    outcome.model = model;
    outcome.provider = stream.provider ?? '';
    const inputTokens = await localInput;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'x-g4f-provider': outcome.provider,
      ...context.baseHeaders,
    });
    context.metrics.streamStarted();
    const message = {
      id: context.messageId,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: wireUsage(inputTokens, 0),
    };
    send(event('message_start', JSON.stringify({ type: 'message_start', message })));
    send(event('ping', '{"type":"ping"}'));
  };

  try {
    // One group of chunks per upstream read: one async step per read, not per chunk.
    if (!(await relayBatches(stream.batches(), response, writer, start, writeBatch))) return;
    if (!started) await start();
    closeBlock();
    const madeCalls = calls.calls();
    for (const call of madeCalls) {
      const { block, inputJson } = toolUseBlock(call);
      produced += call.name + call.arguments;
      const index = blocks;
      blocks += 1;
      send(event('content_block_start', JSON.stringify({ type: 'content_block_start', index, content_block: block })));
      send(event('content_block_delta', JSON.stringify({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: inputJson } })));
      send(event('content_block_stop', `{"type":"content_block_stop","index":${index}}`));
    }
    const inputTokens = usage?.promptTokens ?? (await localInput);
    const outputTokens = usage?.completionTokens ?? (await countOutputTokens(produced));
    outcome.usage = { promptTokens: inputTokens, completionTokens: outputTokens, totalTokens: inputTokens + outputTokens };
    const reason = stopReason(finish, madeCalls.length > 0, stopSequence);
    const delta = { stop_reason: reason, stop_sequence: reason === 'stop_sequence' ? (stopSequence as string) : null };
    send(event('message_delta', JSON.stringify({ type: 'message_delta', delta, usage: { input_tokens: inputTokens, output_tokens: outputTokens } })));
    const tail = writer.take() + event('message_stop', '{"type":"message_stop"}');
    if (!response.destroyed) response.end(tail);
  } catch (error) {
    if (!started) throw error;
    outcome.streamError = error;
    if (!response.destroyed) {
      // One error event, then the end without message_stop: the client can tell the answer was cut.
      const events = writer.take();
      const mapped = toAnthropicError(shutdownReason(context.signal) ?? error, context.requestId);
      response.end(`${events}${event('error', JSON.stringify(mapped.body))}`);
    }
  } finally {
    if (started) {
      context.metrics.streamEnded();
      if (stream.attempts.length > 0) outcome.attempts = stream.attempts;
    }
  }
}
