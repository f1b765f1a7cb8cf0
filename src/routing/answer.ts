/** A whole answer put together from stream parts: each choice's text, reasoning, tool calls and finish. */
import { createToolCallCollector } from '../core/messages.js';
import type { Chunk, FinishReason, Usage } from '../core/spec.js';
import type { ChoiceResult } from './types.js';

export interface AnswerCollector {
  add(chunk: Chunk): void;
  choices(): ChoiceResult[];
  usage(): Usage | undefined;
}

interface ChoiceState {
  text: string;
  reasoning: string;
  signature: string | undefined;
  tools: ReturnType<typeof createToolCallCollector> | undefined;
  finishReason: FinishReason | undefined;
  stopSequence: string | undefined;
  finishDetail: string | undefined;
  logprobs: unknown[] | undefined;
}

export function createAnswerCollector(): AnswerCollector {
  const states: ChoiceState[] = [];
  let usage: Usage | undefined;
  function stateOf(index = 0): ChoiceState {
    let state = states[index];
    if (state === undefined) {
      state = {
        text: '',
        reasoning: '',
        signature: undefined,
        tools: undefined,
        finishReason: undefined,
        stopSequence: undefined,
        finishDetail: undefined,
        logprobs: undefined,
      };
      states[index] = state;
    }
    return state;
  }
  return {
    add(chunk) {
      switch (chunk.type) {
        case 'text-delta':
          stateOf(chunk.choice).text += chunk.text;
          break;
        case 'reasoning-delta': {
          const state = stateOf(chunk.choice);
          state.reasoning += chunk.text;
          if (chunk.signature !== undefined) state.signature = chunk.signature;
          break;
        }
        case 'tool-call-delta': {
          const state = stateOf(chunk.choice);
          (state.tools ??= createToolCallCollector()).add(chunk);
          break;
        }
        case 'logprobs': {
          const content = (chunk.logprobs as { content?: unknown } | null)?.content;
          if (Array.isArray(content)) (stateOf(chunk.choice).logprobs ??= []).push(...(content as unknown[]));
          break;
        }
        case 'usage':
          usage = chunk.usage;
          break;
        case 'finish': {
          const state = stateOf(chunk.choice);
          state.finishReason = chunk.reason;
          state.stopSequence = chunk.stopSequence;
          if (chunk.detail !== undefined) state.finishDetail = chunk.detail;
          break;
        }
      }
    },
    choices() {
      if (states.length === 0) stateOf(0);
      const choices: ChoiceResult[] = [];
      for (let index = 0; index < states.length; index++) {
        const state = stateOf(index);
        const toolCalls = state.tools?.calls();
        // A turn with tool calls ends in tool_calls, whatever word the upstream used.
        const finishReason =
          toolCalls !== undefined && toolCalls.length > 0 && (state.finishReason ?? 'stop') === 'stop' ? 'tool_calls' : (state.finishReason ?? 'stop');
        const choice: ChoiceResult = { index, text: state.text, finishReason };
        if (state.finishDetail !== undefined) choice.finishDetail = state.finishDetail;
        if (state.reasoning !== '') choice.reasoning = state.reasoning;
        if (state.signature !== undefined) choice.reasoningSignature = state.signature;
        if (toolCalls !== undefined && toolCalls.length > 0) choice.toolCalls = toolCalls;
        if (state.logprobs !== undefined) choice.logprobs = state.logprobs;
        if (state.stopSequence !== undefined && finishReason === 'stop') choice.stopSequence = state.stopSequence;
        choices.push(choice);
      }
      return choices;
    },
    usage: () => usage,
  };
}
