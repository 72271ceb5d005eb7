/**
 * `quicmesh chat` end to end: two real processes on loopback QUIC (alice listens, bob joins through
 * --peer), a line typed into one is printed by the other as `[room] name: text` and not echoed to
 * its author; closing stdin leaves with exit code 0. Every wait is on an output line or an exit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, type Exit } from '../support/cli-process.js';

class ChatProcess extends CliProcess {
  constructor(args: string[]) {
    super(['chat', ...args], { env: { QUICMESH_LOG: 'warn' }, stdin: 'pipe' });
  }
  kill(): Promise<Exit> {
    return this.stop();
  }
}

const running: ChatProcess[] = [];
function start(args: string[]): ChatProcess {
  const p = new ChatProcess(args);
  running.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
});

const READY = /^chat ready addr=(\S+) node_id=([0-9a-f]{64}) room=(\S+) name=(\S+)$/;
const IN_MESH = /^\* [1-9]\d* peer\(s\) in the mesh of room lobby$/;

describe('quicmesh chat', () => {
  it('carries lines between two processes in a room and leaves cleanly at end of input', async () => {
    const alice = start(['--name', 'alice', '--room', 'lobby', '--port', '0']);
    const [, addr, , room, name] = await alice.waitFor(READY);
    expect(addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect([room, name]).toEqual(['lobby', 'alice']);

    const bob = start(['--name', 'bob', '--room', 'lobby', '--peer', addr!]);
    await bob.waitFor(READY);
    await bob.waitFor(/^\* joined the mesh through 1 of 1 peer\(s\)$/);
    // Each side sends once the other is in its mesh for the room (a heartbeat or two).
    await Promise.all([alice.waitFor(IN_MESH), bob.waitFor(IN_MESH)]);

    alice.type('hello from alice');
    await bob.waitFor(/^\[lobby\] alice: hello from alice$/);
    bob.type('hi alice, bob here');
    await alice.waitFor(/^\[lobby\] bob: hi alice, bob here$/);

    alice.child.stdin!.end();
    bob.child.stdin!.end();
    expect(await alice.exited).toEqual({ code: 0, signal: null });
    expect(await bob.exited).toEqual({ code: 0, signal: null });
    expect(alice.output).toContain('* left room lobby');
    expect(bob.output).toContain('* left room lobby');
    // No echo of one's own lines.
    expect(alice.output).not.toContain('[lobby] alice:');
    expect(bob.output).not.toContain('[lobby] bob:');
  }, 60_000);

  it('leaves cleanly on SIGINT', async () => {
    const p = start(['--name', 'carol', '--room', 'lobby']);
    await p.waitFor(READY);
    p.child.kill('SIGINT');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.output).toContain('* left room lobby');
  });

  it.each([
    [['--room', 'lobby'], /Missing required argument: name/],
    [['--name', 'dave', '--room', 'no spaces'], /--room: expected 1-64 of the characters/],
    [['--name', 'dave', '--room', 'lobby', '--port', '70000'], /--port: expected a port within 0-65535/],
    [['--name', 'dave', '--room', 'lobby', '--peer', '127.0.0.1'], /--peer: missing port/],
    [['--name', 'dave', '--room', 'lobby', '--host', 'localhost'], /--host: expected an IP address/],
  ])('rejects %j with one line and exit code 2', async (args, message) => {
    const p = start(args);
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    const errors = p.lines.filter((l) => l.startsWith('quicmesh: '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });
});
