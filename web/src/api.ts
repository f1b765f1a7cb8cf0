/** The page's calls to its server. The API key (when the server needs one) lives in localStorage and goes in the Authorization header only. */
import { createParser } from 'eventsource-parser';
import type { Conversation as StoredConversation, ImportSummary, Message as StoredMessage } from '../../src/store/types.js';

export interface Config {
  version: string;
  demo: boolean;
  /** In demo mode: messages that show a failure, a long answer... */
  demoTriggers?: Array<{ prompt: string; description: string }>;
  keysRequired: boolean;
}

export type { ImageMediaType, MessageStatus, Role, StoredImage } from '../../src/store/types.js';

/** A model of the picker: its providers, and whether it takes images (through any provider, and through which). */
export interface PageModel {
  id: string;
  providers: string[];
  vision: boolean;
  visionProviders: string[];
}

/** A message as the API sends it (the store's, without the conversation id). */
export type Message = Omit<StoredMessage, 'conversationId'>;

/** A conversation as the API sends it: listed with a count and a snippet, or fetched with its messages. */
export interface Conversation extends StoredConversation {
  messageCount?: number;
  snippet?: string;
  messages?: Message[];
}

export interface ApiErrorBody {
  message: string;
  type?: string;
  code?: string | null;
  attempts?: Array<{ provider: string; code: string; status?: number; message: string }>;
}

export class ApiError extends Error {
  readonly status: number;
  readonly body: ApiErrorBody;
  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

const KEY_STORAGE = 'g4f.apiKey';
let onUnauthorized: ((options: { wrong: boolean }) => Promise<boolean>) | undefined;

export function getApiKey(): string | null {
  return localStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key: string): void {
  localStorage.setItem(KEY_STORAGE, key);
}

/**
 * Called on a 401 with `wrong: true` when a key was sent: it asks for a key and answers whether a
 * new one was given (the request is then sent again), or false to give up.
 */
export function setUnauthorizedHandler(handler: (options: { wrong: boolean }) => Promise<boolean>): void {
  onUnauthorized = handler;
}

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const headers = new Headers(init.headers);
    const key = getApiKey();
    const sent = key !== null && key !== '';
    if (sent) headers.set('authorization', `Bearer ${key}`);
    if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    const response = await fetch(path, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
    if (response.status === 401 && onUnauthorized !== undefined && init.signal?.aborted !== true) {
      if (await onUnauthorized({ wrong: sent })) {
        await response.body?.cancel();
        continue;
      }
    }
    if (!response.ok) throw await toApiError(response);
    return response;
  }
}

async function toApiError(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: ApiErrorBody };
    if (body.error !== undefined && typeof body.error.message === 'string') return new ApiError(response.status, body.error);
  } catch {
    // not JSON
  }
  return new ApiError(response.status, { message: `HTTP ${response.status}` });
}

export async function getJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await call(path, init)).json()) as T;
}

export function sendJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  return getJson<T>(path, body === undefined ? { method } : { method, body: JSON.stringify(body) });
}

export async function getText(path: string): Promise<string> {
  return (await call(path)).text();
}

export const api = {
  config: () => getJson<Config>('/api/config'),
  models: () => getJson<{ data: PageModel[] }>('/api/models'),
  providers: () => getJson<{ data: Array<{ name: string; models: string[] }> }>('/v1/providers'),
  list: (search: string) => getJson<{ data: Conversation[] }>(`/api/conversations${search === '' ? '' : `?search=${encodeURIComponent(search)}`}`),
  get: (id: string) => getJson<Conversation>(`/api/conversations/${encodeURIComponent(id)}`),
  create: (input: Partial<Conversation>) => sendJson<Conversation>('POST', '/api/conversations', input),
  update: (id: string, patch: Partial<Pick<Conversation, 'title' | 'systemPrompt' | 'model' | 'provider'>>) =>
    sendJson<Conversation>('PATCH', `/api/conversations/${encodeURIComponent(id)}`, patch),
  remove: (id: string) => sendJson<unknown>('DELETE', `/api/conversations/${encodeURIComponent(id)}`),
  clear: () => sendJson<{ deleted: number }>('DELETE', '/api/conversations'),
  exportText: (id: string, format: 'json' | 'markdown') => getText(`/api/conversations/${encodeURIComponent(id)}/export?format=${format}`),
  /** Answers with a summary (id, title, counts); the messages are read with `get`. */
  importText: (format: 'json' | 'markdown', content: string) => sendJson<ImportSummary>('POST', '/api/conversations/import', { format, content }),
  /** A stored image's bytes (with the API key, which an <img src> could not send). */
  image: async (conversationId: string, imageId: string) =>
    (await call(`/api/conversations/${encodeURIComponent(conversationId)}/images/${encodeURIComponent(imageId)}`)).blob(),
};

export interface ChatRequest {
  content?: string;
  /** Images of the new message, as base64 data URLs. */
  images?: Array<{ url: string }>;
  regenerate?: true;
  replaceFrom?: string;
  /** With `replaceFrom`: the edited message keeps the images of the one it replaces. */
  keepImages?: true;
  /** With `regenerate`: the user message to answer (the server refuses if it is no longer the last). */
  replyTo?: string;
  model: string;
  provider?: string;
  systemPrompt?: string;
}

export interface ContextInfo {
  sent: number;
  omitted: number;
  promptTokens: number;
  contextTokens: number;
  /** Images sent with the request. */
  images?: number;
  /** Images of the conversation sent as the text `[image]` (the model takes no images). */
  imagesAsText?: number;
}

export interface ChatHandlers {
  user(message: Message): void;
  context(info: ContextInfo): void;
  /** The model's reasoning (may come before `start`). */
  reasoning(text: string): void;
  start(message: Message): void;
  delta(text: string): void;
  done(message: Message): void;
  error(status: number, error: ApiErrorBody): void;
}

/** Sends a chat request and dispatches its events until the stream ends or `signal` aborts. */
export async function streamChat(conversationId: string, request: ChatRequest, handlers: ChatHandlers, signal: AbortSignal): Promise<void> {
  const response = await call(`/api/conversations/${encodeURIComponent(conversationId)}/messages`, {
    method: 'POST',
    body: JSON.stringify(request),
    signal,
  });
  if (response.body === null) throw new ApiError(502, { message: 'The answer has no body' });
  let ended = false;
  const parser = createParser({
    onEvent(event) {
      const data = JSON.parse(event.data) as Record<string, unknown>;
      switch (event.event) {
        case 'user':
          handlers.user(data.message as Message);
          break;
        case 'context':
          handlers.context(data as unknown as ContextInfo);
          break;
        case 'reasoning':
          handlers.reasoning(String(data.text ?? ''));
          break;
        case 'start':
          handlers.start(data.message as Message);
          break;
        case 'delta':
          handlers.delta(String(data.text ?? ''));
          break;
        case 'done':
          ended = true;
          handlers.done(data.message as Message);
          break;
        case 'error':
          ended = true;
          handlers.error(Number(data.status ?? 502), data.error as ApiErrorBody);
          break;
        default:
          break;
      }
    },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  if (!ended && !signal.aborted) handlers.error(502, { message: 'The answer ended before it was complete' });
}
