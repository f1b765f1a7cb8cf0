/**
 * Keeping a chat session in the conversation store (the one the web page uses), and
 * reading a stored conversation back for `--resume`.
 */
import type { ChatMessage } from '../core/spec.js';
import type { ChatSession } from './chat-commands.js';

export interface AppendMeta {
  status?: 'complete' | 'stopped' | 'interrupted';
  model?: string;
  provider?: string;
}

export interface ConversationLog {
  /** The stored conversation's id, once there is one. */
  readonly id: string | undefined;
  append(message: ChatMessage, meta?: AppendMeta): Promise<void>;
  /** Removes the last appended message (a question that got no answer). */
  dropLast(): Promise<void>;
  /** `/clear`: later messages go to a new conversation. */
  restart(): Promise<void>;
  /** The model, provider or system prompt of the session changed. */
  settingsChanged(): Promise<void>;
  close(): Promise<void>;
}

export interface ConversationLogOptions {
  resume?: string;
  dataDir?: string;
  save: boolean;
}

export const nullLog: ConversationLog = {
  id: undefined,
  async append() {},
  async dropLast() {},
  async restart() {},
  async settingsChanged() {},
  async close() {},
};

export async function openConversationLog(_options: ConversationLogOptions, _session: ChatSession): Promise<ConversationLog> {
  return nullLog;
}
