/**
 * The store conformance suite: the same cases against every backend (SQLite in store.test.ts and
 * response-store.test.ts, PostgreSQL in store-postgres.test.ts). Each `*Cases` call is one
 * `describe` whose store comes from `open`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isG4FError } from '../src/core/errors.js';
import { newKey, type ConversationStore, type KeyStore, type ResponseStore, type StoredResponse } from '../src/store/index.js';

export function record(id: string, owner: string): StoredResponse {
  return {
    id,
    owner,
    status: 'completed',
    model: 'm',
    createdAt: 1_700_000_000,
    response: { id, object: 'response', output: [{ type: 'message', content: [{ type: 'output_text', text: 'é ✓' }] }] },
    history: [{ role: 'user', content: 'hi' }],
  };
}

export function conversationStoreCases(name: string, open: () => Promise<ConversationStore>): void {
  describe(name, () => {
    let store: ConversationStore;
    before(async () => {
      store = await open();
      await store.clear();
    });
    after(async () => {
      await store.close();
    });

    test('creates, lists newest first, renames, deletes, clears', async () => {
      const first = await store.create({ title: 'First' });
      const second = await store.create({});
      assert.equal(second.title, 'New conversation');
      await store.appendMessage(first.id, { role: 'user', content: 'hello' });
      const listed = await store.list();
      assert.deepEqual(
        listed.map((c) => c.id),
        [first.id, second.id],
      );
      assert.equal(listed[0]?.messageCount, 1);
      const renamed = await store.update(second.id, { title: '  Second\n title ' });
      assert.equal(renamed?.title, 'Second title');
      assert.equal(await store.update('nope', { title: 'x' }), undefined);
      assert.equal(await store.delete(first.id), true);
      assert.equal(await store.delete(first.id), false);
      assert.equal(await store.get(first.id), undefined);
      assert.equal(await store.clear(), 1);
      assert.deepEqual(await store.list(), []);
    });

    test('search finds titles and message texts, case-insensitive, Cyrillic included', async () => {
      const recipes = await store.create({ title: 'Recipes' });
      const physics = await store.create({ title: 'Физика' });
      await store.appendMessage(physics.id, { role: 'user', content: 'Что такое ИМПУЛЬС тела?' });
      await store.appendMessage(recipes.id, { role: 'assistant', content: 'Use 100% flour_and water' });
      assert.deepEqual(
        (await store.list({ search: 'recip' })).map((c) => c.id),
        [recipes.id],
      );
      assert.deepEqual(
        (await store.list({ search: 'физ' })).map((c) => c.id),
        [physics.id],
      );
      const byText = await store.list({ search: 'импульс' });
      assert.deepEqual(
        byText.map((c) => c.id),
        [physics.id],
      );
      assert.match(byText[0]?.snippet ?? '', /ИМПУЛЬС/);
      // LIKE wildcards are plain characters here.
      assert.deepEqual(
        (await store.list({ search: '100%' })).map((c) => c.id),
        [recipes.id],
      );
      assert.deepEqual(
        (await store.list({ search: '_' })).map((c) => c.id),
        [recipes.id],
      );
      assert.deepEqual(await store.list({ search: 'absent words' }), []);
      await store.clear();
    });

    test('replaceFrom deletes the message and later ones in the same transaction', async () => {
      const conversation = await store.create({ title: 'Edit' });
      const question = await store.appendMessage(conversation.id, { role: 'user', content: 'q1' });
      await store.appendMessage(conversation.id, { role: 'assistant', content: 'a1' });
      assert.ok(question);
      const edited = await store.appendMessage(conversation.id, { role: 'user', content: 'q1 edited' }, { replaceFrom: question.id });
      assert.ok(edited);
      const after = await store.get(conversation.id);
      assert.deepEqual(
        after?.messages.map((m) => m.content),
        ['q1 edited'],
      );
      assert.equal(await store.appendMessage(conversation.id, { role: 'user', content: 'x' }, { replaceFrom: 'missing' }), undefined);
      assert.equal(await store.appendMessage('missing', { role: 'user', content: 'x' }), undefined);
      await assert.rejects(store.appendMessage(conversation.id, { role: 'robot' as 'user', content: 'x' }), (error: unknown) =>
        isG4FError(error, 'InvalidRequestError'),
      );
      assert.deepEqual(
        (await store.get(conversation.id))?.messages.map((m) => m.content),
        ['q1 edited'],
      );
      await store.clear();
    });

    test('images are stored with their message, read back byte for byte, and kept on replaceFrom with keepImages', async () => {
      const conversation = await store.create({ title: 'Pictures' });
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
      const question = await store.appendMessage(conversation.id, { role: 'user', content: 'see', images: [{ mediaType: 'image/png', data: png }] });
      assert.equal(question?.images?.length, 1);
      const image = question?.images?.[0];
      assert.ok(image && question);
      assert.deepEqual([...((await store.getImage(conversation.id, image.id))?.data ?? [])], [...png]);
      assert.deepEqual([...((await store.imageData(conversation.id, [image.id])).get(image.id) ?? [])], [...png]);
      const edited = await store.appendMessage(conversation.id, { role: 'user', content: 'see again' }, { replaceFrom: question.id, keepImages: true });
      assert.equal(edited?.images?.length, 1);
      const answer = await store.appendMessage(conversation.id, { role: 'assistant', content: '', status: 'streaming' });
      assert.ok(answer);
      const updated = await store.updateMessage(conversation.id, answer.id, { content: 'done', status: 'complete', reasoning: 'thought' });
      assert.deepEqual([updated?.content, updated?.status, updated?.reasoning], ['done', 'complete', 'thought']);
      const read = await store.get(conversation.id);
      assert.deepEqual(
        read?.messages.map((m) => [m.content, m.images?.length ?? 0]),
        [
          ['see again', 1],
          ['done', 0],
        ],
      );
      assert.equal(await store.deleteMessagesFrom(conversation.id, answer.id), 1);
      const imported = await store.importConversation({
        title: 'In',
        systemPrompt: 's',
        model: 'm',
        provider: 'p',
        createdAt: '2020-01-01T00:00:00.000Z',
        updatedAt: '2020-01-02T00:00:00.000Z',
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
        ],
      });
      assert.deepEqual(
        imported.messages.map((m) => m.content),
        ['a', 'b'],
      );
      assert.equal((await store.get(imported.id))?.createdAt, '2020-01-01T00:00:00.000Z');
      await store.clear();
    });
  });
}

export function responseStoreCases(name: string, open: () => Promise<ResponseStore>): void {
  describe(name, () => {
    test("a response is its owner's; one without an owner is everyone's; JSON comes back as it went", async () => {
      const store = await open();
      await store.put(record('resp_a', 'owner-a'));
      await store.put(record('resp_open', ''));
      assert.deepEqual(await store.get('resp_a', 'owner-a'), record('resp_a', 'owner-a'));
      assert.equal(await store.get('resp_a', 'owner-b'), undefined);
      assert.equal(await store.get('resp_a', ''), undefined);
      assert.equal((await store.get('resp_open', 'owner-b'))?.id, 'resp_open');
      assert.equal(await store.delete('resp_a', 'owner-b'), false);
      assert.equal(await store.delete('resp_a', 'owner-a'), true);
      assert.equal(await store.get('resp_a', 'owner-a'), undefined);
      await store.close();
      await assert.rejects(store.get('resp_open', ''), /closed/);
    });
  });
}

export function keyStoreCases(name: string, open: () => Promise<KeyStore>): void {
  describe(name, () => {
    let store: KeyStore;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });

    test('keys are stored by hash with their limits; a taken name is refused; revoke marks the key', async () => {
      const suffix = Math.random().toString(36).slice(2, 8);
      const made = newKey({
        name: `team-${suffix}`,
        rpm: 10,
        tpm: 1000,
        maxParallel: 2,
        budgetTokens: 5000,
        budgetPeriod: 'month',
        models: ['a', 'b'],
        expiresAt: '30d',
      });
      await store.insert(made.record);
      const found = await store.findByHash(made.record.hash);
      assert.deepEqual(found, made.record);
      assert.ok(!JSON.stringify(await store.list()).includes(made.key), 'the key itself is never stored');
      await assert.rejects(
        store.insert(newKey({ name: `team-${suffix}` }).record),
        (error: unknown) => isG4FError(error, 'InvalidRequestError') && /exists already/.test(error.message),
      );
      assert.equal(await store.revoke(`team-${suffix}`), true);
      assert.equal(await store.revoke(`team-${suffix}`), false);
      assert.ok((await store.findByHash(made.record.hash))?.revokedAt);
    });

    test('usage adds up per key, day, model and provider', async () => {
      const key = `usage-${Math.random().toString(36).slice(2, 8)}`;
      await store.insert(newKey({ name: key }).record);
      const at = new Date('2026-01-05T10:00:00Z');
      await store.recordUsage({ key, model: 'm', provider: 'p', promptTokens: 3, completionTokens: 4, at });
      await store.recordUsage({ key, model: 'm', provider: 'p', promptTokens: 1, completionTokens: 1, at });
      await store.recordUsage({ key, model: 'm', provider: 'q', promptTokens: 2, completionTokens: 2, at: new Date('2026-01-06T10:00:00Z') });
      assert.deepEqual(await store.usage({ key }), [
        { key, day: '2026-01-05', model: 'm', provider: 'p', requests: 2, promptTokens: 4, completionTokens: 5 },
        { key, day: '2026-01-06', model: 'm', provider: 'q', requests: 1, promptTokens: 2, completionTokens: 2 },
      ]);
      assert.equal((await store.usage({ key, sinceDay: '2026-01-06' })).length, 1);
      assert.equal((await store.list()).find((item) => item.name === key)?.lastUsedAt, '2026-01-06T10:00:00.000Z');
    });
  });
}
