/**
 * `g4f ask --json`: one OpenAI-shaped `chat.completion` object. Its `usage` is the upstream's
 * when it gave one, else counted with a real tokenizer (cl100k, as gpt-3.5/gpt-4), streamed or
 * not. Loaded only for `--json`, after the answer: the tokenizer costs start-up time.
 */
import { randomBytes } from 'node:crypto';
import { countUsage } from '../core/token-count.js';
import type { ChatMessage, FinishReason, ToolCall, Usage } from '../core/spec.js';
import { writeOut } from './stdout.js';

export interface AskAnswer {
  text: string;
  model: string;
  provider: string;
  finishReason: FinishReason;
  reasoning?: string;
  toolCalls?: ToolCall[];
  usage?: Usage;
}

export async function printChatCompletion(answer: AskAnswer, messages: readonly ChatMessage[]): Promise<boolean> {
  let counted = answer.text + (answer.reasoning ?? '');
  for (const call of answer.toolCalls ?? []) counted += call.name + call.arguments;
  const usage = answer.usage ?? (await countUsage(messages, counted));
  return writeOut(`${JSON.stringify(toChatCompletion({ ...answer, usage }), null, 2)}\n`);
}

function wireMessage(answer: AskAnswer): Record<string, unknown> {
  const calls = answer.toolCalls;
  const message: Record<string, unknown> = { role: 'assistant', content: calls !== undefined && answer.text === '' ? null : answer.text };
  if (answer.reasoning !== undefined) message.reasoning_content = answer.reasoning;
  if (calls !== undefined)
    message.tool_calls = calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  return message;
}

/** An OpenAI `chat.completion` object, plus the provider that answered. */
export function toChatCompletion(answer: AskAnswer): Record<string, unknown> {
  const completion: Record<string, unknown> = {
    id: `chatcmpl-${randomBytes(12).toString('hex')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: answer.model,
    provider: answer.provider,
    choices: [{ index: 0, message: wireMessage(answer), logprobs: null, finish_reason: answer.finishReason }],
  };
  if (answer.usage !== undefined) {
    completion.usage = {
      prompt_tokens: answer.usage.promptTokens,
      completion_tokens: answer.usage.completionTokens,
      total_tokens: answer.usage.totalTokens,
    };
  }
  return completion;
}
