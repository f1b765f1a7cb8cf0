/**
 * Everything of the chat page outside `/v1`: the page and its assets, `/api/config`, and the
 * conversations API over a ConversationStore, as rows of the server's route table (`routes`
 * below; GET rows answer HEAD too):
 *
 *   GET    /api/models                                 models with their providers and whether they take images
 *   GET    /api/conversations?search=&limit=&offset=   list (newest first) → {data: [...]}
 *   POST   /api/conversations                          create {title?, systemPrompt?, model?, provider?}
 *   DELETE /api/conversations                          clear all → {deleted: n}
 *   POST   /api/conversations/import                   {format: "json"|"markdown", content} → summary with counts
 *   GET    /api/conversations/:id                      one, with its messages
 *   PATCH  /api/conversations/:id                      rename etc. {title?, systemPrompt?, model?, provider?}
 *   DELETE /api/conversations/:id
 *   GET    /api/conversations/:id/export?format=json|markdown
 *   POST   /api/conversations/:id/messages             send / edit / regenerate, answer streamed (see web-chat.ts)
 *   DELETE /api/conversations/:id/messages/:messageId  delete that message and every later one
 *   GET    /api/conversations/:id/images/:imageId      an image of a message (its bytes)
 */
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { InvalidRequestError } from '../core/errors.js';
import { capabilitiesOf } from '../core/messages.js';
import type { Router } from '../routing/types.js';
import {
  CONVERSATION_LIMITS,
  exportJson,
  exportMarkdown,
  importJson,
  importMarkdown,
  openStore,
  type ConversationStore,
  type ConversationWithMessages,
  type ImportSummary,
} from '../store/index.js';
import { readJsonBody } from './body.js';
import { DEMO_TRIGGERS, isDemoTrigger } from './demo.js';
import { crossOriginProblem } from './host-check.js';
import type { Logger } from './logger.js';
import { HttpRequestError, toOpenAIError, type OpenAIError } from './openai-errors.js';
import type { Route, RouteCall } from './route-table.js';
import { createStaticFiles } from './static.js';
import { createChatStreamer } from './web-chat.js';

export interface WebHandlerOptions {
  router: Router;
  demo: boolean;
  authorize: (request: IncomingMessage) => boolean;
  keysRequired: boolean;
  dataDir?: string;
  logger?: Logger;
  /** A store to use instead of the SQLite one under `dataDir` (it is closed with the handler). */
  store?: ConversationStore;
}

const JSON_LIMIT_BYTES = 4 * 1024 * 1024;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

// The lengths are checked by the store, with the limits every way in shares (store/limits.ts).
const conversationPatch = z
  .object({
    title: z.string().optional(),
    systemPrompt: z.string().optional(),
    model: z.string().optional(),
    provider: z.string().optional(),
  })
  .strict();

// The text's own limits (characters, messages, each field) are checked by importJson/importMarkdown.
const importBody = z.object({ format: z.enum(['json', 'markdown']), content: z.string() });

function packageVersion(): string {
  try {
    const manifest = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The page's side of the server: its routes (rows of the server's one route table), and what every `/api` request passes first. */
export interface WebHandler {
  /** The `/api` routes, for the server's route table. */
  routes: ReadonlyArray<Route>;
  /**
   * Run before routing any `/api` request: its headers, changes from this server's own page only,
   * then, for the conversations and the model list, the key and whether the server is closing.
   */
  guard(request: IncomingMessage, response: ServerResponse, path: string): void;
  /** The answer of an `/api` error: OpenAI's shape; a zod failure is a 400 naming the field. */
  formatError(error: unknown): OpenAIError;
  /** The page and its assets (GET and HEAD); false when there is no such file. */
  serveFile(path: string, method: string, response: ServerResponse): Promise<boolean>;
  close(): Promise<void>;
}

export function createWebHandler(options: WebHandlerOptions): WebHandler {
  const store = options.store ?? openStore(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  const files = createStaticFiles();
  const chat = createChatStreamer({
    router: options.router,
    store,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.demo ? { healthExempt: isDemoTrigger } : {}),
  });
  const version = packageVersion();
  let closed = false;

  /** The conversation `:id` of a call; an id that cannot be one is not found. */
  const conversationId = (call: RouteCall): string => {
    const id = call.params.id ?? '';
    if (!ID_PATTERN.test(id)) throw notFoundConversation(id);
    return id;
  };

  async function listConversations({ response, query }: RouteCall): Promise<void> {
    const search = query.get('search') ?? undefined;
    const data = await store.list({
      ...(search === undefined ? {} : { search: search.slice(0, 500) }),
      ...numberParam(query, 'limit'),
      ...numberParam(query, 'offset'),
    });
    sendJson(response, 200, { object: 'list', data });
  }

  async function createConversation({ request, response }: RouteCall): Promise<void> {
    const body = conversationPatch.parse(await readBody(request, JSON_LIMIT_BYTES));
    sendJson(response, 201, await store.create(stripUndefined(body)));
  }

  async function getConversation(call: RouteCall): Promise<void> {
    const id = conversationId(call);
    sendJson(call.response, 200, (await store.get(id)) ?? throwing(notFoundConversation(id)));
  }

  async function patchConversation(call: RouteCall): Promise<void> {
    const id = conversationId(call);
    const body = conversationPatch.parse(await readBody(call.request, JSON_LIMIT_BYTES));
    sendJson(call.response, 200, (await store.update(id, stripUndefined(body))) ?? throwing(notFoundConversation(id)));
  }

  async function deleteConversation(call: RouteCall): Promise<void> {
    const id = conversationId(call);
    if (!(await store.delete(id))) throw notFoundConversation(id);
    sendJson(call.response, 200, { id, deleted: true });
  }

  async function importConversation({ request, response }: RouteCall): Promise<void> {
    // The images of a JSON import are inside this body too: their own character limit is checked in importJson.
    const body = importBody.parse(await readBody(request, CONVERSATION_LIMITS.importBodyBytes));
    const data = body.format === 'json' ? importJson(body.content) : importMarkdown(body.content);
    // A summary, never the messages: the reply of a large import would be as large again.
    sendJson(response, 201, importSummary(await store.importConversation(data)));
  }

  async function exportConversation(call: RouteCall): Promise<void> {
    const id = conversationId(call);
    const conversation = (await store.get(id)) ?? throwing(notFoundConversation(id));
    const format = call.query.get('format') ?? 'json';
    if (format !== 'json' && format !== 'markdown') {
      throw new HttpRequestError(400, 'format must be json or markdown', { code: 'invalid_format', param: 'format' });
    }
    const text = format === 'json' ? exportJson(conversation, await store.imageData(id)) : exportMarkdown(conversation);
    const extension = format === 'json' ? 'json' : 'md';
    call.response.writeHead(200, {
      'content-type': format === 'json' ? 'application/json; charset=utf-8' : 'text/markdown; charset=utf-8',
      'content-disposition': `attachment; filename="${fileName(conversation.title)}.${extension}"`,
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    call.response.end(text);
  }

  async function image(call: RouteCall): Promise<void> {
    const id = conversationId(call);
    const imageId = call.params.imageId ?? '';
    const found = ID_PATTERN.test(imageId) ? await store.getImage(id, imageId) : undefined;
    if (found === undefined) throw new HttpRequestError(404, `No image ${imageId.slice(0, 64)} in conversation ${id}`, { code: 'image_not_found' });
    call.response.writeHead(200, {
      'content-type': found.mediaType,
      'content-length': found.data.byteLength,
      // Stored images are checked to be what their media type says; never run as a page.
      'content-security-policy': "default-src 'none'; sandbox",
      'content-disposition': 'inline',
    });
    call.response.end(found.data);
  }

  async function deleteMessages(call: RouteCall): Promise<void> {
    const id = conversationId(call);
    const messageId = call.params.messageId ?? '';
    const deleted = ID_PATTERN.test(messageId) ? await store.deleteMessagesFrom(id, messageId) : 0;
    if (deleted === 0) throw new HttpRequestError(404, `No message ${messageId} in conversation ${id}`, { code: 'message_not_found' });
    sendJson(call.response, 200, { deleted });
  }

  const routes: Route[] = [
    {
      method: 'GET',
      path: '/api/config',
      name: 'web',
      handle: ({ response }) =>
        sendJson(response, 200, { version, demo: options.demo, demoTriggers: options.demo ? DEMO_TRIGGERS : [], keysRequired: options.keysRequired }),
    },
    {
      method: 'GET',
      path: '/api/models',
      name: 'web',
      handle: ({ response }) => sendJson(response, 200, { object: 'list', data: pageModels(options.router) }),
    },
    { method: 'GET', path: '/api/conversations', name: 'web', handle: listConversations },
    { method: 'POST', path: '/api/conversations', name: 'web', handle: createConversation },
    { method: 'DELETE', path: '/api/conversations', name: 'web', handle: async ({ response }) => sendJson(response, 200, { deleted: await store.clear() }) },
    { method: 'POST', path: '/api/conversations/import', name: 'web', handle: importConversation },
    { method: 'GET', path: '/api/conversations/:id', name: 'web', handle: getConversation },
    { method: 'PATCH', path: '/api/conversations/:id', name: 'web', handle: patchConversation },
    { method: 'DELETE', path: '/api/conversations/:id', name: 'web', handle: deleteConversation },
    { method: 'GET', path: '/api/conversations/:id/export', name: 'web', handle: exportConversation },
    // The body (up to CONVERSATION_LIMITS.sendBodyBytes, with images) is read by the streamer, within its budget.
    { method: 'POST', path: '/api/conversations/:id/messages', name: 'web', handle: (call) => chat.stream(conversationId(call), call.request, call.response) },
    { method: 'DELETE', path: '/api/conversations/:id/messages/:messageId', name: 'web', handle: deleteMessages },
    { method: 'GET', path: '/api/conversations/:id/images/:imageId', name: 'web', handle: image },
  ];

  return {
    routes,
    guard(request, response, path) {
      // The conversations are private to this server's user: never readable cross-origin.
      for (const name of ['access-control-allow-origin', 'access-control-expose-headers', 'vary']) response.removeHeader(name);
      response.setHeader('cache-control', 'no-store');
      response.setHeader('x-content-type-options', 'nosniff');
      refuseCrossOrigin(request);
      if (path !== '/api/models' && path !== '/api/conversations' && !path.startsWith('/api/conversations/')) return;
      if (!options.authorize(request)) {
        throw new HttpRequestError(401, 'Missing or invalid API key: send the header Authorization: Bearer <key>.', {
          type: 'authentication_error',
          code: 'invalid_api_key',
        });
      }
      if (closed) throw new HttpRequestError(503, 'The server is shutting down.', { type: 'server_error', code: 'shutting_down' });
    },
    formatError,
    serveFile: (path, method, response) => files.serve(path, method, response),
    async close() {
      if (closed) return;
      closed = true;
      await chat.close();
      await store.close();
    },
  };
}

/** Methods that read only; every other one changes the conversations. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Changes come from this server's own page only: a browser on another origin (even one listed in
 * `corsOrigins`, which is for `/v1`) cannot create, change, delete or import conversations.
 * Requests without `Origin` (curl, the command line) are not a browser's, and pass.
 */
function refuseCrossOrigin(request: IncomingMessage): void {
  if (READ_METHODS.has(request.method ?? 'GET')) return;
  const problem = crossOriginProblem(request);
  if (problem === undefined) return;
  throw new HttpRequestError(403, `${problem} The conversations API only takes changes from this server's own page.`, {
    type: 'permission_error',
    code: 'cross_origin_refused',
  });
}

async function readBody(request: IncomingMessage, limit: number): Promise<unknown> {
  return readJsonBody(request, limit);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/** Errors in OpenAI's shape; zod failures become 400s naming the field. */
export function formatError(error: unknown): OpenAIError {
  let mapped;
  if (error instanceof z.ZodError) {
    const issue = error.issues[0];
    const param = issue?.path.join('.') ?? '';
    mapped = toOpenAIError(new InvalidRequestError(`Invalid request: ${issue?.message ?? 'bad body'}${param ? ` at ${param}` : ''}`, param || undefined));
  } else {
    mapped = toOpenAIError(error);
  }
  return { ...mapped, headers: { ...mapped.headers, 'content-type': 'application/json; charset=utf-8' } };
}

function notFoundConversation(id: string): HttpRequestError {
  return new HttpRequestError(404, `No conversation with id ${id.slice(0, 64)}`, { code: 'conversation_not_found' });
}

function throwing(error: Error): never {
  throw error;
}

function numberParam(query: URLSearchParams, name: 'limit' | 'offset'): { limit?: number } | { offset?: number } {
  const raw = query.get(name);
  if (raw === null) return {};
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new HttpRequestError(400, `${name} must be a non-negative integer`, { code: 'invalid_parameter', param: name });
  return { [name]: value };
}

function importSummary(conversation: ConversationWithMessages): ImportSummary {
  const { messages, systemPrompt, ...fields } = conversation;
  let characterCount = 0;
  let imageCount = 0;
  for (const message of messages) {
    characterCount += message.content.length;
    imageCount += message.images?.length ?? 0;
  }
  return { ...fields, messageCount: messages.length, characterCount, systemPromptCharacters: systemPrompt.length, imageCount };
}

/** A model as the page lists it: whether it takes images through any provider, and through which. */
export interface PageModel {
  id: string;
  providers: string[];
  vision: boolean;
  /** The providers through which it takes images. */
  visionProviders: string[];
}

/** The models for the page's picker, with their image input (capabilitiesOf over each model's providers). */
export function pageModels(router: Router): PageModel[] {
  const providers = new Map(router.listProviders().map((provider) => [provider.name, provider]));
  return router.listModels().map((model) => {
    const visionProviders = model.providers.filter((name) => {
      const provider = providers.get(name);
      return provider !== undefined && capabilitiesOf(provider, model.id).vision;
    });
    return { id: model.id, providers: model.providers, vision: visionProviders.length > 0, visionProviders };
  });
}

function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** A safe download name: letters, digits, dashes; at most 60 characters. */
function fileName(title: string): string {
  const cleaned = title
    .normalize('NFKD')
    .replace(/[^\w\s-]/g, '')
    .trim()
    .replace(/\s+/g, '-')
    .slice(0, 60);
  return cleaned === '' ? 'conversation' : cleaned;
}
