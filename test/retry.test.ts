/** Retry timing as pure functions (Retry-After parsing, backoff with jitter) and the abortable sleep. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isG4FError } from '../src/core/errors.js';
import { backoffDelay, parseRetryAfter, sleep } from '../src/core/retry.js';

const NOW = Date.UTC(2024, 0, 1, 12, 0, 0);

test('parseRetryAfter: retry-after-ms first, then seconds, then an HTTP date', () => {
  const cases: Array<[Record<string, string | string[] | undefined>, number | undefined]> = [
    [{}, undefined],
    [{ 'retry-after': '' }, undefined],
    [{ 'retry-after': '2' }, 2_000],
    [{ 'retry-after': ' 120 ' }, 120_000],
    [{ 'retry-after': '1.5' }, 1_500],
    [{ 'retry-after': '0' }, 0],
    [{ 'retry-after-ms': '250' }, 250],
    [{ 'retry-after-ms': '250', 'retry-after': '9' }, 250],
    [{ 'retry-after-ms': 'soon', 'retry-after': '9' }, 9_000],
    [{ 'retry-after-ms': '-5', 'retry-after': '3' }, 3_000],
    [{ 'retry-after': 'Mon, 01 Jan 2024 12:00:30 GMT' }, 30_000],
    [{ 'retry-after': 'Monday, 01-Jan-24 12:01:00 GMT' }, 60_000],
    [{ 'retry-after': 'Mon, 01 Jan 2024 11:00:00 GMT' }, 0],
    [{ 'retry-after': ['4', '8'] }, 4_000],
    [{ 'retry-after': 'tomorrow' }, undefined],
    [{ 'retry-after': '-1' }, undefined],
    [{ 'retry-after': '12 13' }, undefined],
    [{ 'retry-after': '1e3' }, undefined],
  ];
  for (const [headers, expected] of cases) assert.equal(parseRetryAfter(headers, NOW), expected, JSON.stringify(headers));
});

test('backoffDelay: exponential, full jitter between half and all of the ceiling, capped', () => {
  const options = { baseDelayMs: 100, maxDelayMs: 1_000 };
  assert.equal(
    backoffDelay(1, options, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(1, options, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(2, options, () => 0.5),
    150,
  );
  assert.equal(
    backoffDelay(3, options, () => 1),
    400,
  );
  assert.equal(
    backoffDelay(10, options, () => 1),
    1_000,
  );
  assert.equal(
    backoffDelay(10, options, () => 0),
    500,
  );
  assert.equal(
    backoffDelay(0, options, () => 1),
    100,
    'attempt 0 is treated as 1',
  );
  for (let attempt = 1; attempt < 40; attempt++) {
    const delay = backoffDelay(attempt, options);
    assert.ok(Number.isInteger(delay) && delay >= 50 && delay <= 1_000, String(delay));
  }
});

test('sleep resolves after the time, and rejects at once on abort', async () => {
  const started = performance.now();
  await sleep(20);
  assert.ok(performance.now() - started >= 15);

  const controller = new AbortController();
  const pending = sleep(60_000, controller.signal);
  const abortedAt = performance.now();
  controller.abort();
  await assert.rejects(pending, (error: unknown) => isG4FError(error, 'AbortError'));
  assert.ok(performance.now() - abortedAt < 1_000);

  await assert.rejects(sleep(10, AbortSignal.abort()), (error: unknown) => isG4FError(error, 'AbortError'));
});
