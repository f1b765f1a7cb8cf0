/** Small runtime helpers over the contract's messages, stream parts and capabilities. */
import type { Capabilities, Capability, ChatMessage, Chunk, CompletionRequest, Provider, ToolCall } from './spec.js';

/**
 * The text of a message for text-only uses (counting, display, text-only providers): a user
 * message's text parts joined with a line break (they are separate passages), images left out.
 */
export function messageText(message: ChatMessage): string {
  const content = message.content;
  if (content === null) return '';
  if (typeof content === 'string') return content;
  let text = '';
  let first = true;
  for (const part of content) {
    if (part.type !== 'text') continue;
    text += first ? part.text : `\n${part.text}`;
    first = false;
  }
  return text;
}

/**
 * Whether a part is output: text, reasoning or a tool call. The first output ends fallback and
 * the first-token timer; an answer with none is empty.
 */
export function isOutputChunk(chunk: Chunk): boolean {
  switch (chunk.type) {
    case 'text-delta':
    case 'reasoning-delta':
      return chunk.text !== '';
    case 'tool-call-delta':
      return true;
    default:
      return false;
  }
}

export const NO_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  tools: false,
  vision: false,
  jsonSchema: false,
  reasoning: false,
  n: false,
  logprobs: false,
  embeddings: false,
});

export const ALL_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  tools: true,
  vision: true,
  jsonSchema: true,
  reasoning: true,
  n: true,
  logprobs: true,
  embeddings: true,
});

/**
 * A provider's capabilities for one model: the model's own over the provider's, absent ones
 * false. Embeddings also need the provider's `createEmbeddings`: without it there are none.
 */
export function capabilitiesOf(provider: Pick<Provider, 'capabilities' | 'modelCapabilities' | 'createEmbeddings'>, model: string): Capabilities {
  const capabilities = { ...NO_CAPABILITIES, ...provider.capabilities, ...provider.modelCapabilities?.[model] };
  if (capabilities.embeddings && typeof provider.createEmbeddings !== 'function') capabilities.embeddings = false;
  return capabilities;
}

/** What a capability means, for error messages. */
export const CAPABILITY_NAMES: Readonly<Record<Capability, string>> = {
  tools: 'tool calls',
  vision: 'image input',
  jsonSchema: 'structured output (json_schema)',
  reasoning: 'reasoning',
  n: 'several choices (n > 1)',
  logprobs: 'logprobs',
  embeddings: 'embeddings',
};

/** The capabilities a request needs from whoever answers it. */
export function requiredCapabilities(request: CompletionRequest): Capability[] {
  const needed: Capability[] = [];
  let tools = request.tools !== undefined && request.tools.length > 0;
  let vision = false;
  for (const message of request.messages) {
    if (message.role === 'tool' || (message.role === 'assistant' && message.toolCalls !== undefined && message.toolCalls.length > 0)) tools = true;
    else if (message.role === 'user' && typeof message.content !== 'string') {
      for (const part of message.content) if (part.type === 'image') vision = true;
    }
  }
  if (tools) needed.push('tools');
  if (vision) needed.push('vision');
  if (request.responseFormat?.type === 'json_schema') needed.push('jsonSchema');
  if (request.reasoningEffort !== undefined) needed.push('reasoning');
  if (request.n !== undefined && request.n > 1) needed.push('n');
  if (request.logprobs === true) needed.push('logprobs');
  return needed;
}

/** Tool calls put together from their streamed pieces, in index order. */
export function createToolCallCollector(): { add(chunk: Extract<Chunk, { type: 'tool-call-delta' }>): void; calls(): ToolCall[] } {
  const byIndex = new Map<number, ToolCall>();
  return {
    add(chunk) {
      let call = byIndex.get(chunk.index);
      if (call === undefined) {
        call = { id: chunk.id ?? '', name: chunk.name ?? '', arguments: '' };
        byIndex.set(chunk.index, call);
      } else {
        if (chunk.id !== undefined && call.id === '') call.id = chunk.id;
        if (chunk.name !== undefined && call.name === '') call.name = chunk.name;
      }
      call.arguments += chunk.argumentsDelta;
    },
    calls() {
      return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, call]) => call);
    },
  };
}
