/** A whole (not streamed) answer of `POST /v1/messages`: one `message` object. */
import type { ServerResponse } from 'node:http';
import type { Router } from '../../routing/types.js';
import type { ChatOutcome } from '../chat-completions.js';
import type { Metrics } from '../metrics.js';
import { stopReason, toolUseBlock, wireUsage } from './answer-blocks.js';
import { countInputTokens, countOutputTokens } from './count.js';
import type { ParsedMessagesRequest } from './request.js';

export interface MessagesAnswerContext {
  router: Router;
  metrics: Metrics;
  /** Headers every answer carries (request id, CORS). */
  baseHeaders: Record<string, string>;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  /** The message id, `msg_...`. */
  messageId: string;
}

export async function wholeMessage(
  response: ServerResponse,
  parsed: ParsedMessagesRequest,
  context: MessagesAnswerContext,
  outcome: ChatOutcome,
): Promise<void> {
  const result = await context.router.complete(parsed.request);
  outcome.model = result.model;
  outcome.provider = result.provider;
  if (result.attempts.length > 0) outcome.attempts = result.attempts;
  const choice = result.choices[0];
  const text = choice?.text ?? result.text;
  const reasoning = choice === undefined ? result.reasoning : choice.reasoning;
  const calls = (choice === undefined ? result.toolCalls : choice.toolCalls) ?? [];
  const content: unknown[] = [];
  const signature = (choice === undefined ? result.reasoningSignature : choice.reasoningSignature) ?? '';
  if (reasoning !== undefined && reasoning !== '') content.push({ type: 'thinking', thinking: reasoning, signature });
  if (text !== '') content.push({ type: 'text', text });
  let counted = text + (reasoning ?? '');
  for (const call of calls) {
    const { block, inputJson } = toolUseBlock(call);
    block.input = JSON.parse(inputJson) as unknown;
    content.push(block);
    counted += call.name + call.arguments;
  }
  const inputTokens = result.usage?.promptTokens ?? (await countInputTokens(parsed.request));
  const outputTokens = result.usage?.completionTokens ?? (await countOutputTokens(counted));
  outcome.usage = { promptTokens: inputTokens, completionTokens: outputTokens, totalTokens: inputTokens + outputTokens };
  const body = JSON.stringify({
    id: context.messageId,
    type: 'message',
    role: 'assistant',
    model: result.model,
    content,
    stop_reason: stopReason(choice?.finishReason ?? result.finishReason, calls.length > 0, choice?.stopSequence),
    stop_sequence: calls.length === 0 ? (choice?.stopSequence ?? null) : null,
    usage: wireUsage(inputTokens, outputTokens),
  });
  if (response.destroyed) return;
  response.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'x-g4f-provider': result.provider,
    ...context.baseHeaders,
  });
  response.end(body);
}
