/**
 * The conversation that native-serve.test.ts and protocols-table.test.ts ask every protocol
 * behind `g4f serve` through the official `openai` client: a weather tool, a question with an
 * image, the upstream's two calls of the tool, and the answer read back whole or streamed.
 */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { PNG } from './conformance-cases.js';

export const weatherTools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

/** The system prompt and a user message of `text` and the image. */
export function photoQuestion(text: string): OpenAI.ChatCompletionMessageParam[] {
  return [
    { role: 'system', content: 'You answer about the weather.' },
    {
      role: 'user',
      content: [
        { type: 'text', text },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
      ],
    },
  ];
}

/** What the upstream answers first: a sentence and two calls of the tool, their arguments cut in fragments. */
export const weatherCalls = {
  text: 'Let me look.',
  toolCalls: [
    { name: 'get_weather', arguments: '{"city":"Paris"}', cuts: [4, 10] },
    { name: 'get_weather', arguments: '{"city":"Lyon"}', cuts: [7] },
  ],
};

export interface Answer {
  text: string;
  calls: Array<{ id: string; name: string; arguments: string }>;
  finish: string | null | undefined;
}

/** Asks `model` with the weather tool, whole or streamed, and gathers the text, the calls and the finish reason. */
export async function askWithTools(client: OpenAI, model: string, messages: OpenAI.ChatCompletionMessageParam[], stream: boolean): Promise<Answer> {
  if (!stream) {
    const choice = (await client.chat.completions.create({ model, messages, tools: weatherTools })).choices[0];
    assert.ok(choice);
    return {
      text: choice.message.content ?? '',
      calls: (choice.message.tool_calls ?? []).map((call) => {
        assert.equal(call.type, 'function');
        return { id: call.id, name: call.function.name, arguments: call.function.arguments };
      }),
      finish: choice.finish_reason,
    };
  }
  const answer: Answer = { text: '', calls: [], finish: undefined };
  for await (const chunk of await client.chat.completions.create({ model, messages, tools: weatherTools, stream: true })) {
    const choice = chunk.choices[0];
    if (choice === undefined) continue;
    answer.text += choice.delta.content ?? '';
    for (const part of choice.delta.tool_calls ?? []) {
      const call = (answer.calls[part.index] ??= { id: '', name: '', arguments: '' });
      if (part.id) call.id = part.id;
      if (part.function?.name) call.name = part.function.name;
      call.arguments += part.function?.arguments ?? '';
    }
    answer.finish = choice.finish_reason ?? answer.finish;
  }
  return answer;
}
