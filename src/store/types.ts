/**
 * The conversation store contract: pure types. Every method is async and nothing here assumes
 * SQLite, so that another backend (e.g. Postgres shared by several server replicas) can implement
 * the same interface.
 */
import type { ImageMediaType } from './limits.js';

export type { ImageMediaType };

/** Who wrote a stored message: the store's own display roles, apart from the provider contract's. */
export type Role = 'system' | 'user' | 'assistant';

/**
 * What became of a message.
 * - `complete`: written in full (user messages, finished answers);
 * - `streaming`: an answer still arriving (saved as it grows);
 * - `stopped`: the user stopped the answer; the text is what had arrived;
 * - `interrupted`: the answer was cut by a provider failure or a server restart.
 */
export type MessageStatus = 'complete' | 'streaming' | 'stopped' | 'interrupted';

/** An image attached to a message, without its bytes (read them with `getImage`). */
export interface StoredImage {
  id: string;
  mediaType: ImageMediaType;
  /** Its size, decoded. */
  bytes: number;
}

/** An image to store with a message. */
export interface NewImage {
  mediaType: ImageMediaType;
  data: Uint8Array;
}

/** An image with its bytes. */
export interface ImageData extends StoredImage {
  data: Uint8Array;
}

export interface Message {
  id: string;
  conversationId: string;
  role: Role;
  content: string;
  status: MessageStatus;
  /** Images the user attached, in order (absent when none). */
  images?: StoredImage[];
  /** An answer's reasoning, as the model streamed it apart from the answer (absent when none). */
  reasoning?: string;
  /** The model that wrote an answer. */
  model?: string;
  /** The provider that wrote an answer. */
  provider?: string;
  /** ISO time. */
  createdAt: string;
}

export interface Conversation {
  id: string;
  title: string;
  /** The system prompt sent first with every request of this conversation ("" for none). */
  systemPrompt: string;
  /** Last model and provider chosen in this conversation ("" = not chosen / auto). */
  model: string;
  provider: string;
  /** ISO times. */
  createdAt: string;
  updatedAt: string;
}

export interface ConversationSummary extends Conversation {
  messageCount: number;
  /** When listed by a search that matched the text of a message: an excerpt around the match. */
  snippet?: string;
}

export interface ConversationWithMessages extends Conversation {
  /** In conversation order. */
  messages: Message[];
}

export interface ListOptions {
  /** Case-insensitive substring searched in titles and message texts. */
  search?: string;
  /** Default 200, at most 1000. */
  limit?: number;
  offset?: number;
}

export interface NewConversation {
  /** Default "New conversation". */
  title?: string;
  systemPrompt?: string;
  model?: string;
  provider?: string;
}

export interface ConversationPatch {
  title?: string;
  systemPrompt?: string;
  model?: string;
  provider?: string;
}

export interface NewMessage {
  role: Role;
  content: string;
  /** Within the image limits of limits.ts (each, per message, per conversation). */
  images?: NewImage[];
  reasoning?: string;
  /** Default `complete`. */
  status?: MessageStatus;
  model?: string;
  provider?: string;
  /** ISO time; default now (imports keep theirs). */
  createdAt?: string;
}

export interface AppendOptions {
  /**
   * Delete this message and every later one of the conversation first, in the same
   * transaction (edit-and-resend, regenerate).
   */
  replaceFrom?: string;
  /** With `replaceFrom`: the new message keeps the images of the one it replaces (before its own). */
  keepImages?: boolean;
}

export interface MessagePatch {
  content?: string;
  reasoning?: string;
  status?: MessageStatus;
  model?: string;
  provider?: string;
}

/** The answer to an import over the page's API: the conversation without its texts, and what it holds. */
export interface ImportSummary extends Omit<Conversation, 'systemPrompt'> {
  messageCount: number;
  /** The characters of all its messages together. */
  characterCount: number;
  /** The characters of its system prompt. */
  systemPromptCharacters: number;
  /** The images of its messages. */
  imageCount: number;
}

/** A conversation as carried by export and import. */
export interface ConversationData extends Omit<Conversation, 'id'> {
  messages: NewMessage[];
}

export interface ConversationStore {
  /** Newest activity first. */
  list(options?: ListOptions): Promise<ConversationSummary[]>;
  create(input?: NewConversation): Promise<Conversation>;
  get(id: string): Promise<ConversationWithMessages | undefined>;
  /** Undefined when there is no such conversation. */
  update(id: string, patch: ConversationPatch): Promise<Conversation | undefined>;
  /** False when there was no such conversation. */
  delete(id: string): Promise<boolean>;
  /** Deletes every conversation; returns how many there were. */
  clear(): Promise<number>;
  /** Undefined when there is no such conversation (or `replaceFrom` is not one of its messages). */
  appendMessage(conversationId: string, message: NewMessage, options?: AppendOptions): Promise<Message | undefined>;
  updateMessage(conversationId: string, messageId: string, patch: MessagePatch): Promise<Message | undefined>;
  /** Deletes one message and every later one; returns how many were deleted. */
  deleteMessagesFrom(conversationId: string, messageId: string): Promise<number>;
  /** One image of the conversation, with its bytes. */
  getImage(conversationId: string, imageId: string): Promise<ImageData | undefined>;
  /** The bytes of the conversation's images, by id: those named in `ids`, or all. */
  imageData(conversationId: string, ids?: readonly string[]): Promise<Map<string, Uint8Array>>;
  /** Creates a conversation with all its messages in one transaction; refused over the limits of limits.ts. */
  importConversation(data: ConversationData): Promise<ConversationWithMessages>;
  close(): Promise<void>;
}
