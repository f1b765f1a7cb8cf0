/**
 * Token counting in linear time: pieces cut where the tokenizer cuts, counts unchanged for
 * ordinary text, the event loop free while a 1 MB message is counted, context fitting bounded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countTokens } from 'gpt-tokenizer/model/gpt-3.5-turbo';
import {
  countByPieces,
  countInSlices,
  countMessageTokens,
  countUsage,
  isPieceBoundary,
  loadTokenizer,
  MAX_PIECE_CHARS,
  tokenPieces,
} from '../src/core/token-count.js';
import { EXACT_MESSAGE_CHARS, fitToContext } from '../src/store/context-window.js';
import { postChat, send, sseData, startFixture, userMessage, type Fixture } from './server-fixture.js';

const PLAIN = { disallowedSpecial: new Set<string>() };
const count = (text: string): number => countTokens(text, PLAIN);

/** A deterministic pseudo-random generator (the same strings on every run). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fff_ffff;
    return state / 0x7fff_ffff;
  };
}

const WORDS = ['the', 'model', 'answers', 'quickly', "doesn't", 'Tokenizer', 'context', 'window', 'über', 'naïve', '42', '3.14', 'x_y', 'don’t', 'HTTP/1.1'];
/** Ordinary prose: words, punctuation, numbers, line breaks and paragraphs. */
function prose(words: number, seed = 1): string {
  const random = seeded(seed);
  let text = '';
  for (let index = 0; index < words; index += 1) {
    text += WORDS[Math.floor(random() * WORDS.length)];
    const roll = random();
    text += roll < 0.08 ? '. ' : roll < 0.12 ? ', ' : roll < 0.14 ? '\n' : roll < 0.15 ? '\n\n' : ' ';
  }
  return text;
}

const CODE = 'export function add(a: number, b: number): number {\n\treturn a + b; // sum\n}\n\nconst list = [1, 2, 3].map((value) => value * 2);\n';
const CHINESE = '分词器把文本切成片段。每个片段再按字节合并，直到没有可合并的对为止！\n第二段：这里有数字 2024 和英文 words。';
const MIXED = 'Emoji 😀👍🏽 and math 𝐀𝐁𝐂, accents é́, <|endoftext|> as text, tabs\tand\u00a0spaces   \r\n end.';

describe('token pieces', () => {
  test('a cut at a piece boundary never changes the count', () => {
    const alphabet = [
      'a',
      'B',
      'é',
      'ß',
      '中',
      'ひ',
      '\u0301',
      '\u093f',
      '1',
      '٣',
      ' ',
      '  ',
      '\t',
      '\n',
      '\r',
      '\u00a0',
      '\u3000',
      '.',
      ',',
      "'",
      "'s",
      "'ll",
      '"',
      '/',
      '😀',
      '𝐀',
      '…',
      '<|endoftext|>',
    ];
    const random = seeded(7);
    let checked = 0;
    for (let round = 0; round < 1_500; round += 1) {
      let text = '';
      const length = 1 + Math.floor(random() * 24);
      for (let index = 0; index < length; index += 1) text += alphabet[Math.floor(random() * alphabet.length)];
      const whole = count(text);
      for (let index = 1; index < text.length; index += 1) {
        if (!isPieceBoundary(text, index)) continue;
        checked += 1;
        assert.equal(count(text.slice(0, index)) + count(text.slice(index)), whole, `${JSON.stringify(text)} cut at ${index}`);
      }
      for (const maxChars of [1, 2, 5]) assert.equal([...tokenPieces(text, maxChars)].join(''), text);
    }
    assert.ok(checked > 1_000, String(checked));
  });

  test('ordinary text is counted exactly as before, in pieces and in slices', async () => {
    const texts = [prose(20_000), CODE.repeat(200), CHINESE.repeat(100), MIXED.repeat(100), 'short', ''];
    const pieceLengths: number[] = [];
    for (const text of texts) {
      assert.equal(
        countByPieces(text, (piece) => {
          pieceLengths.push(piece.length);
          return count(piece);
        }),
        count(text),
      );
    }
    assert.ok(Math.max(...pieceLengths) <= MAX_PIECE_CHARS);
    assert.deepEqual(await countInSlices(texts, count), texts.map(count));
  });

  test('a 1 MB run of one letter is counted in bounded pieces, the event loop turning between slices', async () => {
    // The tokenizer itself agrees on a run it can still count whole: 4 letters a token.
    assert.equal(count('b'.repeat(8_192)), 2_048);
    const run = 'b'.repeat(1_048_576);
    let calls = 0;
    let longest = 0;
    let turns = 0;
    let counting = true;
    const tick = (): void => {
      turns += 1;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const [tokens] = await countInSlices([run], (piece) => {
      calls += 1;
      longest = Math.max(longest, piece.length);
      return count(piece);
    });
    counting = false;
    assert.equal(tokens, 1_048_576 / 4);
    assert.equal(calls, 1_048_576 / MAX_PIECE_CHARS);
    assert.equal(longest, MAX_PIECE_CHARS);
    assert.ok(turns > 100, `the event loop turned ${turns} times`);
  });

  test('a long run of letters with no break (Chinese without punctuation) is cut too', () => {
    const run = '的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学'.repeat(400);
    let longest = 0;
    const tokens = countByPieces(run, (piece) => {
      longest = Math.max(longest, piece.length);
      return count(piece);
    });
    assert.ok(longest <= MAX_PIECE_CHARS);
    assert.ok(tokens > run.length / 2 && tokens < run.length * 2, String(tokens));
  });
});

describe('usage counted by the server', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture({ bodyLimitBytes: 4 * 1024 * 1024 });
  });
  after(async () => {
    await fixture.close();
  });

  test('a 1 MB message without upstream usage: /health keeps answering while the tokens are counted', { timeout: 60_000 }, async () => {
    const answer = 'An ordinary answer, counted exactly.';
    fixture.alpha.enqueue({ usage: false, text: answer });
    let chatDone = false;
    let healthAnswers = 0;
    let healthLoop: Promise<void> | undefined;
    const stop = fixture.alpha.on('response-end', () => {
      // The upstream has answered: the server now counts the 1 MB message. /health is asked
      // again and again, one after the other, until the chat answer is complete.
      healthLoop = (async () => {
        while (!chatDone) {
          const health = await send(fixture.url, { path: '/health' });
          assert.equal(health.status, 200);
          if (!chatDone) healthAnswers += 1;
        }
      })();
    });
    const chat = await postChat(fixture.url, { model: 'test-model', messages: userMessage('b'.repeat(1_048_576)) });
    chatDone = true;
    stop();
    await healthLoop;
    assert.equal(chat.status, 200, chat.body.slice(0, 300));
    // Counted in slices, the 1 MB gives the loop hundreds of turns (about 170 answers here); a
    // count that blocks the loop lets at most one /health through, as the loop resumes.
    assert.ok(healthAnswers >= 10, `/health answered ${healthAnswers} times while the chat answer was counted`);
    const usage = (JSON.parse(chat.body) as { usage: Record<string, number> }).usage;
    assert.equal(usage.prompt_tokens, 3 + 3 + count('user') + 1_048_576 / 4);
    assert.equal(usage.completion_tokens, count(answer));
    assert.equal(usage.total_tokens, usage.prompt_tokens! + usage.completion_tokens!);
  });

  test('a streamed answer of ordinary text: the usage chunk has the exact counts', async () => {
    const answer = prose(3_000, 2);
    const question = `${prose(2_000, 3)}\n${CODE}${CHINESE}${MIXED}`;
    fixture.alpha.enqueue({ usage: false, text: answer });
    const response = await postChat(fixture.url, {
      model: 'test-model',
      messages: userMessage(question),
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(response.status, 200);
    const events = sseData(response.body);
    assert.equal(events.at(-1), '[DONE]');
    const usage = (JSON.parse(events.at(-2)!) as { usage: Record<string, number> }).usage;
    assert.deepEqual(usage, {
      prompt_tokens: 3 + 3 + count('user') + count(question),
      completion_tokens: count(answer),
      total_tokens: 3 + 3 + count('user') + count(question) + count(answer),
    });
  });
});

describe('context fitting', () => {
  let tokenizer: (piece: string) => number;
  before(async () => {
    tokenizer = await loadTokenizer();
  });

  test('one counter: the server’s usage, `ask --json`’s and the page’s fitting give the same prompt tokens', async () => {
    const history = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: prose(120, 8) },
      { role: 'assistant' as const, content: CODE },
      { role: 'tool' as const, toolCallId: 'call_1', content: CHINESE },
      { role: 'user' as const, content: MIXED },
    ];
    const usage = await countUsage(history, 'an answer');
    const fit = fitToContext(history, { model: 'gpt-4o', count: tokenizer });
    assert.equal(fit.estimated, false);
    assert.equal(fit.promptTokens, usage.promptTokens);
    assert.equal(usage.promptTokens, 3 + history.reduce((sum, message) => sum + countMessageTokens(message, tokenizer), 0));
    assert.equal(usage.completionTokens, count('an answer'));
  });

  test('an ordinary conversation is counted exactly as before', () => {
    const history = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: prose(300, 4) },
      { role: 'assistant' as const, content: CODE },
      { role: 'user' as const, content: CHINESE },
      { role: 'assistant' as const, content: MIXED },
      { role: 'user' as const, content: prose(200, 5) },
    ];
    const fit = fitToContext(history, { model: 'gpt-4o', count: tokenizer });
    assert.equal(fit.omitted, 0);
    assert.equal(fit.estimated, false);
    assert.equal(fit.promptTokens, 3 + history.reduce((sum, message) => sum + count(message.content) + 4, 0));
  });

  test('a 150k-character message is estimated from samples, and said to be', () => {
    const history = [
      { role: 'user' as const, content: 'hello' },
      { role: 'assistant' as const, content: 'hi' },
      { role: 'user' as const, content: 'b'.repeat(150_000) },
    ];
    const fit = fitToContext(history, { model: 'gpt-4o', count: tokenizer });
    assert.equal(fit.omitted, 0);
    assert.equal(fit.estimated, true);
    assert.equal(fit.promptTokens, 3 + (150_000 / 4 + 4) + (count('hello') + 4) + (count('hi') + 4));

    const long = prose(30_000, 6);
    assert.ok(long.length > EXACT_MESSAGE_CHARS);
    const estimate = fitToContext([{ role: 'user', content: long }], { model: 'gpt-4o', count: tokenizer }).promptTokens;
    const exact = 3 + count(long) + 4;
    assert.ok(Math.abs(estimate - exact) / exact < 0.05, `estimate ${estimate}, exact ${exact}`);
  });

  test('history past what one fitting counts is estimated at the measured rate', () => {
    const history = Array.from({ length: 40 }, (_, index) => ({
      role: index % 2 === 0 ? ('user' as const) : ('assistant' as const),
      content: prose(400, 10 + index),
    }));
    const fit = fitToContext(history, { model: 'gpt-4o', count: tokenizer });
    assert.equal(fit.omitted, 0);
    assert.equal(fit.estimated, true);
    const exact = 3 + history.reduce((sum, message) => sum + count(message.content) + 4, 0);
    assert.ok(Math.abs(fit.promptTokens - exact) / exact < 0.05, `estimate ${fit.promptTokens}, exact ${exact}`);
  });

  test('special-token text in a message is counted as text, not refused', () => {
    const fit = fitToContext([{ role: 'user', content: 'say <|endoftext|> please' }], { model: 'gpt-4', count: tokenizer });
    assert.equal(fit.promptTokens, 3 + count('say <|endoftext|> please') + 4);
  });
});
