/** One error ladder: the HTTP layer's own refusals are G4FErrors too, and each door maps them to its shape. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { G4FError, HttpRequestError, isG4FError } from '../src/index.js';
import { toAnthropicError } from '../src/server/messages/errors.js';
import { errorKind, shutdownReason, shuttingDown, toOpenAIError } from '../src/server/openai-errors.js';

test('HttpRequestError is on the ladder: one base error, a literal name and code, found by the guard', () => {
  const error = new HttpRequestError(404, 'No conversation abc.', { code: 'conversation_not_found', param: 'id' });
  assert.ok(error instanceof G4FError);
  assert.ok(isG4FError(error));
  assert.ok(isG4FError(error, 'HttpRequestError'));
  assert.equal(isG4FError(error, 'InvalidRequestError'), false);
  assert.equal(error.name, 'HttpRequestError');
  assert.equal(error.code, 'http_request');
  assert.equal(error.retryable, false);
  // Across duplicate installs: a plain object with the same name and code passes the guard by name.
  const foreign = Object.assign(new Error('x'), { name: 'HttpRequestError', code: 'http_request' });
  assert.ok(isG4FError(foreign, 'HttpRequestError'));
});

test('each door maps it to its own shape, with its status, type, param, code and headers', () => {
  const error = new HttpRequestError(405, 'GET is not allowed here.', { code: 'method_not_allowed', headers: { allow: 'POST' } });
  assert.deepEqual(toOpenAIError(error), {
    status: 405,
    body: { error: { message: 'GET is not allowed here.', type: 'invalid_request_error', param: null, code: 'method_not_allowed' } },
    headers: { allow: 'POST' },
  });
  const anthropic = toAnthropicError(error, 'req_1');
  assert.equal(anthropic.status, 405);
  assert.deepEqual(anthropic.body, { type: 'error', error: { type: 'invalid_request_error', message: 'GET is not allowed here.' }, request_id: 'req_1' });
  assert.equal(errorKind(error), 'method_not_allowed');
  assert.equal(errorKind(new HttpRequestError(413, 'Too large.')), 'http_413');
});

test('the shutdown error is found as the reason of an aborted signal', () => {
  const controller = new AbortController();
  controller.abort(shuttingDown());
  const reason = shutdownReason(controller.signal);
  assert.ok(isG4FError(reason, 'HttpRequestError'));
  assert.equal(reason.answerCode, 'server_shutting_down');
  assert.equal(toOpenAIError(reason).status, 503);
  assert.equal(shutdownReason(AbortSignal.abort()), undefined);
});
