/**
 * The page's API with images and reasoning, over real sockets: a send's images are checked (media
 * type, base64, the file's signature, size, how many, the conversation's total, the body) with a
 * 400 naming the field; they are stored, served, sent upstream as image parts with every later
 * question (as `[image]` text to a model without image input); reasoning is stored and never sent
 * back; JSON export and import carry both; `/api/models` says which models take images.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../src/core/runtime.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider, Lockchat } from '../src/providers/index.js';
import { createRouter } from '../src/routing/index.js';
import { startServer, type RunningServer } from '../src/server/index.js';
import { CONVERSATION_LIMITS } from '../src/store/index.js';
import { pngImage } from './web-helpers.js';

interface StoredMessage {
  id: string;
  role: string;
  content: string;
  reasoning?: string;
  images?: Array<{ id: string; mediaType: string; bytes: number }>;
}

interface ErrorBody {
  error: { message: string; param: string | null; code: string | null };
}

interface WireMessage {
  role: string;
  content: string | Array<{ type: string; text?: string; image_url?: { url: string } }>;
  [field: string]: unknown;
}

const json = { 'content-type': 'application/json' };

function dataUrl(bytes: Buffer, mediaType = 'image/png'): string {
  return `data:${mediaType};base64,${bytes.toString('base64')}`;
}

/** Bytes that start as a PNG does, `size` long (the server checks the signature, not the pixels). */
function pngSized(size: number): Buffer {
  const bytes = Buffer.alloc(size, 7);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
}

/** The events of a page chat answer. */
function eventsOf(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event: '))
    .map((block) => {
      const [eventLine = '', dataLine = ''] = block.split('\n');
      return { event: eventLine.slice('event: '.length), data: JSON.parse(dataLine.slice('data: '.length)) as Record<string, unknown> };
    });
}

describe('the page API: images and reasoning', () => {
  let vision: Emulator;
  let lockchat: Emulator;
  let server: RunningServer;
  let dataDir: string;
  const runtime = createRuntime();

  before(async () => {
    vision = await createEmulator({ protocol: 'openai' });
    lockchat = await createEmulator({ protocol: 'lockchat' });
    runtime.configureProvider('Lockchat', { baseUrl: lockchat.url });
    vision.setDefaultPlan({ text: 'Seen.', reasoning: 'Thinking it over.' });
    const router = createRouter({
      runtime,
      providers: [Lockchat, createOpenAICompatibleProvider({ name: 'Vision', url: `${vision.url}/v1`, models: ['vision-model'] })],
      retry: { attempts: 1 },
      circuit: { failureThreshold: 1000 },
    });
    dataDir = mkdtempSync(join(tmpdir(), 'g4f-web-images-'));
    server = await startServer({ port: 0, router, dataDir, quiet: true });
  });
  after(async () => {
    await server?.close(2_000);
    await Promise.all([vision?.close(), lockchat?.close()]);
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function create(): Promise<string> {
    const response = await fetch(`${server.url}/api/conversations`, { method: 'POST', headers: json, body: '{}' });
    return ((await response.json()) as { id: string }).id;
  }

  async function conversation(id: string): Promise<{ messages: StoredMessage[] }> {
    return (await (await fetch(`${server.url}/api/conversations/${id}`)).json()) as { messages: StoredMessage[] };
  }

  async function chat(id: string, body: Record<string, unknown>): Promise<{ status: number; text: string }> {
    const response = await fetch(`${server.url}/api/conversations/${id}/messages`, { method: 'POST', headers: json, body: JSON.stringify(body) });
    return { status: response.status, text: await response.text() };
  }

  async function refused(id: string, body: Record<string, unknown>, status = 400): Promise<ErrorBody['error']> {
    const answer = await chat(id, body);
    assert.equal(answer.status, status, answer.text.slice(0, 300));
    return (JSON.parse(answer.text) as ErrorBody).error;
  }

  test('/api/models says which models take images', async () => {
    const models = (await (await fetch(`${server.url}/api/models`)).json()) as { data: Array<{ id: string; vision: boolean; visionProviders: string[] }> };
    const byId = new Map(models.data.map((model) => [model.id, model]));
    assert.equal(byId.get('vision-model')?.vision, true);
    assert.deepEqual(byId.get('vision-model')?.visionProviders, ['Vision']);
    assert.equal(byId.get('gpt-4')?.vision, false);
  });

  test('a send with images that are not PNG, JPEG, GIF or WebP, not base64, not what they say, too large or too many gets a 400 naming the field', async () => {
    const id = await create();
    const send = (images: Array<{ url: string }>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      content: 'look',
      model: 'vision-model',
      images,
      ...extra,
    });
    const small = dataUrl(pngImage(2, 2));
    const cases: Array<[string, Array<{ url: string }>, string, RegExp]> = [
      [
        'media type',
        [{ url: small }, { url: `data:text/plain;base64,${Buffer.from('hi').toString('base64')}` }],
        'images.1.url',
        /media type "text\/plain" is not supported/,
      ],
      ['svg', [{ url: `data:image/svg+xml;base64,${Buffer.from('<svg/>').toString('base64')}` }], 'images.0.url', /not supported/],
      ['not a data URL', [{ url: 'https://example.com/a.png' }], 'images.0.url', /base64 data URL/],
      ['not base64', [{ url: 'data:image/png;base64,@@@@' }], 'images.0.url', /not valid base64/],
      ['plain data URL', [{ url: 'data:image/png,abc' }], 'images.0.url', /must be base64/],
      ['signature', [{ url: dataUrl(Buffer.from('GIF89a-not-a-png')) }], 'images.0.url', /not a PNG image/],
      ['empty', [{ url: 'data:image/png;base64,' }], 'images.0.url', /not valid base64/],
      ['too large', [{ url: dataUrl(pngSized(CONVERSATION_LIMITS.imageBytes + 1)) }], 'images.0.url', /limit is 5,242,880 bytes per image/],
      [
        'too many',
        Array.from({ length: CONVERSATION_LIMITS.messageImages + 1 }, () => ({ url: small })),
        'images',
        /5 images; the limit is 4 images per message/,
      ],
    ];
    for (const [name, images, param, message] of cases) {
      const error = await refused(id, send(images));
      assert.equal(error.param, param, name);
      assert.match(error.message, message, name);
    }
    assert.equal((await refused(id, { model: 'vision-model', regenerate: true, images: [{ url: small }] })).param, 'images');
    assert.equal((await refused(id, { content: '', model: 'vision-model' })).param, 'content');
    // A body over the send limit is refused before it is read in full.
    const huge = 'A'.repeat(CONVERSATION_LIMITS.sendBodyBytes);
    assert.equal((await refused(id, send([{ url: `data:image/png;base64,${huge}` }]), 413)).code, 'request_too_large');
    // Nothing of it was stored.
    assert.equal((await conversation(id)).messages.length, 0);
  });

  test('images to a model without image input are refused (400 unsupported) and nothing is stored', async () => {
    const id = await create();
    const error = await refused(id, { content: 'look', model: 'gpt-4', images: [{ url: dataUrl(pngImage(2, 2)) }] });
    assert.equal(error.code, 'unsupported');
    assert.equal(error.param, 'images');
    assert.match(error.message, /gpt-4 does not take images/);
    assert.equal((await conversation(id)).messages.length, 0);
  });

  test("a conversation's images together stay under the limit", async () => {
    const id = await create();
    const four = dataUrl(pngSized(4 * 1024 * 1024));
    for (let turn = 0; turn < 2; turn++)
      assert.equal((await chat(id, { content: `image ${turn}`, model: 'vision-model', images: [{ url: four }] })).status, 200);
    const error = await refused(id, { content: 'one more', model: 'vision-model', images: [{ url: four }] });
    assert.equal(error.param, 'images');
    assert.match(error.message, /12 MiB of images; the limit is 10 MiB per conversation/);
    assert.equal((await conversation(id)).messages.length, 4);
  });

  test('sends whose images together are over the budget in flight wait their turn, and are all answered', async () => {
    const four = dataUrl(pngSized(4 * 1024 * 1024));
    const ids = await Promise.all([create(), create(), create()]);
    const answers = await Promise.all(ids.map((id) => chat(id, { content: 'at once', model: 'vision-model', images: [{ url: four }] })));
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.ok(
        eventsOf(answer.text).some((event) => event.event === 'done'),
        answer.text.slice(0, 200),
      );
    }
  });

  test('images are stored and served, sent upstream with every later question; reasoning is stored, streamed apart, never sent back', async () => {
    const id = await create();
    const picture = pngImage(3, 2);
    const first = eventsOf((await chat(id, { content: 'What is this?', model: 'vision-model', images: [{ url: dataUrl(picture) }] })).text);
    assert.deepEqual(
      first.map((event) => event.event).filter((name) => name !== 'delta'),
      ['user', 'context', 'reasoning', 'start', 'done'],
    );
    assert.equal(first.find((event) => event.event === 'reasoning')?.data.text, 'Thinking it over.');
    assert.equal(first.find((event) => event.event === 'context')?.data.images, 1);
    const stored = await conversation(id);
    const image = stored.messages[0]?.images?.[0];
    assert.ok(image !== undefined);
    assert.deepEqual([image.mediaType, image.bytes], ['image/png', picture.length]);
    assert.deepEqual([stored.messages[1]?.content, stored.messages[1]?.reasoning], ['Seen.', 'Thinking it over.']);
    const served = await fetch(`${server.url}/api/conversations/${id}/images/${image.id}`);
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.match(served.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), picture);
    const other = await create();
    assert.equal((await fetch(`${server.url}/api/conversations/${other}/images/${image.id}`)).status, 404, "another conversation's image is not found");

    const before = vision.requests.length;
    assert.equal((await chat(id, { content: 'And now?', model: 'vision-model' })).status, 200);
    const upstream = (vision.requests[before]?.body as { messages: WireMessage[] }).messages;
    assert.deepEqual(
      upstream.map((message) => message.role),
      ['user', 'assistant', 'user'],
    );
    const [question, answer] = upstream;
    assert.ok(Array.isArray(question?.content));
    assert.deepEqual(
      question.content.map((part) => part.type),
      ['text', 'image_url'],
    );
    assert.equal(question.content[1]?.image_url?.url, dataUrl(picture));
    assert.equal(answer?.content, 'Seen.');
    assert.ok(!JSON.stringify(answer).includes('Thinking'), 'reasoning is not sent back');

    // A model without image input gets the text `[image]` instead, and the page is told.
    const events = eventsOf((await chat(id, { content: 'Plain question', model: 'gpt-4' })).text);
    assert.equal(events.find((event) => event.event === 'context')?.data.imagesAsText, 1);
    const text = JSON.stringify(lockchat.requests.at(-1)?.body);
    assert.match(text, /What is this\?\\n\[image\]/);
    assert.ok(!text.includes('base64'));
  });

  test('an edit that keeps the images; an image-only message; a text-only message still needs text', async () => {
    const id = await create();
    assert.equal((await chat(id, { content: '', model: 'vision-model', images: [{ url: dataUrl(pngImage(2, 2)) }] })).status, 200);
    let stored = await conversation(id);
    assert.equal(stored.messages[0]?.content, '');
    const before = vision.requests.length;
    const edited = await chat(id, { content: 'Describe it', model: 'vision-model', replaceFrom: stored.messages[0]?.id, keepImages: true });
    assert.equal(edited.status, 200);
    stored = await conversation(id);
    assert.deepEqual(
      stored.messages.map((message) => [message.role, message.content, message.images?.length ?? 0]),
      [
        ['user', 'Describe it', 1],
        ['assistant', 'Seen.', 0],
      ],
    );
    const sent = (vision.requests[before]?.body as { messages: WireMessage[] }).messages[0]?.content;
    assert.ok(Array.isArray(sent) && sent.some((part) => part.type === 'image_url'));
    assert.equal((await refused(id, { content: 'x', model: 'vision-model', keepImages: true })).param, 'keepImages');
  });

  test('JSON export and import carry images and reasoning; Markdown notes the images', async () => {
    const id = await create();
    const picture = pngImage(4, 4, [10, 200, 10]);
    assert.equal((await chat(id, { content: 'Green?', model: 'vision-model', images: [{ url: dataUrl(picture) }] })).status, 200);
    const exported = await (await fetch(`${server.url}/api/conversations/${id}/export?format=json`)).text();
    const document = JSON.parse(exported) as { version: number; messages: Array<{ images?: Array<{ url: string }>; reasoning?: string }> };
    assert.equal(document.version, 2);
    assert.deepEqual(document.messages[0]?.images, [{ url: dataUrl(picture) }]);
    assert.equal(document.messages[1]?.reasoning, 'Thinking it over.');
    const imported = await fetch(`${server.url}/api/conversations/import`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ format: 'json', content: exported }),
    });
    assert.equal(imported.status, 201);
    const summary = (await imported.json()) as { id: string; imageCount: number };
    assert.equal(summary.imageCount, 1);
    const copy = await conversation(summary.id);
    assert.equal(copy.messages[1]?.reasoning, 'Thinking it over.');
    const copied = copy.messages[0]?.images?.[0];
    assert.ok(copied !== undefined);
    assert.deepEqual(Buffer.from(await (await fetch(`${server.url}/api/conversations/${summary.id}/images/${copied.id}`)).arrayBuffer()), picture);

    const markdown = await (await fetch(`${server.url}/api/conversations/${id}/export?format=markdown`)).text();
    assert.match(markdown, /^## User \[image\]$/m);
    const back = await fetch(`${server.url}/api/conversations/import`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ format: 'markdown', content: markdown }),
    });
    assert.equal(back.status, 201);
    assert.deepEqual(
      (await conversation(((await back.json()) as { id: string }).id)).messages.map((message) => message.content),
      ['Green?', 'Seen.'],
    );

    // An import's images are checked as a send's are.
    const bad = JSON.stringify({ messages: [{ role: 'user', content: 'x', images: [{ url: 'data:image/png;base64,AAAA' }] }] });
    const refusedImport = await fetch(`${server.url}/api/conversations/import`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ format: 'json', content: bad }),
    });
    assert.equal(refusedImport.status, 400);
    assert.equal(((await refusedImport.json()) as ErrorBody).error.param, 'messages.0.images.0.url');
  });
});
