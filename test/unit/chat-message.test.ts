/** The chat example's message format: round trip, untrusted input dropped, safe printing, flag checks. */
import { describe, expect, it } from 'vitest';
import {
  chatTopic,
  checkName,
  checkRoom,
  decodeChatMessage,
  encodeChatMessage,
  formatChatLine,
} from '../../cli/node/chat-message.js';
import { chatConfigFromArgs } from '../../cli/node/chat-command.js';
import { ConfigError } from '../../src/errors.js';

const utf8 = new TextEncoder();

describe('chat messages', () => {
  it('round-trips {name, text, ts} as JSON on chat/<room>', () => {
    const msg = { name: 'alice', text: 'héllo, wörld', ts: 1_700_000_000_000 };
    const data = encodeChatMessage(msg);
    expect(JSON.parse(new TextDecoder().decode(data))).toEqual(msg);
    expect(decodeChatMessage(data)).toEqual(msg);
    expect(chatTopic('lobby')).toBe('chat/lobby');
    expect(formatChatLine('lobby', msg)).toBe('[lobby] alice: héllo, wörld');
  });

  it('drops anything that is not a well-formed chat message', () => {
    for (const bad of ['not json', '[1,2]', 'null', '{"name":"a","text":"b"}', '{"name":"","text":"b","ts":1}', '{"name":"a","text":3,"ts":1}']) {
      expect(decodeChatMessage(utf8.encode(bad))).toBeNull();
    }
    expect(decodeChatMessage(new Uint8Array([0xff, 0xfe]))).toBeNull();
    expect(decodeChatMessage(utf8.encode(JSON.stringify({ name: 'x'.repeat(65), text: '', ts: 1 })))).toBeNull();
  });

  it('never prints a peer’s control characters (no terminal escapes)', () => {
    const line = formatChatLine('lobby', { name: 'mal\u001b[2J', text: 'a\nb\u0007', ts: 0 });
    expect(line).toBe('[lobby] mal\uFFFD[2J: a\uFFFDb\uFFFD');
  });

  it('checks --name, --room, --port, --host and --peer', () => {
    expect(checkName('  bob ')).toBe('bob');
    expect(() => checkName('')).toThrow(/--name/);
    expect(() => checkName('a\tb')).toThrow(ConfigError);
    expect(checkRoom('lobby-1.b_c')).toBe('lobby-1.b_c');
    expect(() => checkRoom('a/b')).toThrow(/--room/);
    const base = { name: 'bob', room: 'lobby', port: 0, host: '127.0.0.1' };
    expect(chatConfigFromArgs({ ...base, peer: ['[::1]:4433', '127.0.0.1:4433'] })).toEqual({
      name: 'bob',
      room: 'lobby',
      listen: { host: '127.0.0.1', port: 0 },
      peers: ['[::1]:4433', '127.0.0.1:4433'],
      keyFile: undefined,
    });
    expect(() => chatConfigFromArgs({ ...base, port: 1.5 })).toThrow(/--port/);
    expect(() => chatConfigFromArgs({ ...base, host: 'example.org' })).toThrow(/--host/);
    expect(() => chatConfigFromArgs({ ...base, peer: ['127.0.0.1:0'] })).toThrow(/--peer/);
  });
});
