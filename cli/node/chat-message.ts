/**
 * The chat example's wire format and checks: a message is the JSON object {name, text, ts}
 * published on the topic `chat/<room>`. Incoming messages are untrusted: anything that is not
 * that shape is dropped, and control characters are replaced before printing (no terminal escapes
 * from a peer).
 */
import { ConfigError } from '../../src/errors.js';

export interface ChatMessage {
  name: string;
  text: string;
  /** Sender's wall-clock time, ms since the epoch. */
  ts: number;
}

export const MAX_NAME_CHARS = 64;
export const MAX_ROOM_CHARS = 64;
/** Longest line sent; longer ones are refused with a notice. */
export const MAX_TEXT_CHARS = 4096;

const ROOM = /^[A-Za-z0-9._-]+$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g;
const utf8 = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function chatTopic(room: string): string {
  return `chat/${room}`;
}

/** Throws ConfigError naming --room when the room cannot be a topic segment. */
export function checkRoom(room: string): string {
  if (room.length === 0 || room.length > MAX_ROOM_CHARS || !ROOM.test(room)) {
    throw new ConfigError(`--room: expected 1-${MAX_ROOM_CHARS} of the characters A-Z a-z 0-9 . _ -, got "${room}"`);
  }
  return room;
}

/** Throws ConfigError naming --name when the name is empty, too long or holds control characters. */
export function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_CHARS || CONTROL.test(trimmed)) {
    throw new ConfigError(`--name: expected 1-${MAX_NAME_CHARS} printable characters, got ${JSON.stringify(name)}`);
  }
  return trimmed;
}

export function encodeChatMessage(msg: ChatMessage): Uint8Array {
  return utf8.encode(JSON.stringify({ name: msg.name, text: msg.text, ts: msg.ts }));
}

/** The message in `data`, or null when it is not a well-formed chat message. */
export function decodeChatMessage(data: Uint8Array): ChatMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > MAX_NAME_CHARS) return null;
  if (typeof o.text !== 'string' || o.text.length > MAX_TEXT_CHARS) return null;
  if (typeof o.ts !== 'number' || !Number.isFinite(o.ts)) return null;
  return { name: o.name, text: o.text, ts: o.ts };
}

/** `[room] name: text`, with control characters shown as U+FFFD. */
export function formatChatLine(room: string, msg: ChatMessage): string {
  const clean = (s: string): string => s.replace(CONTROL_ALL, '\uFFFD');
  return `[${room}] ${clean(msg.name)}: ${clean(msg.text)}`;
}
