/**
 * `quicmesh chat` end to end: two real processes on loopback QUIC (alice listens, bob joins through
 * --peer), a line typed into one is printed by the other as `[room] name: text` and not echoed to
 * its author; closing stdin leaves with exit code 0. Every wait is on an output line or an exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'quicmesh.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `quicmesh chat` whose stdout/stderr lines can be awaited and whose stdin is a pipe. */
class ChatProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<Exit>;
  private waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }> = [];
  private partial = '';

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, 'chat', ...args], {
      cwd: ROOT,
      env: { ...process.env, QUICMESH_LOG: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer): void => {
      this.partial += chunk.toString('utf8');
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        this.onLine(this.partial.slice(0, nl));
        this.partial = this.partial.slice(nl + 1);
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((res) => {
      this.child.on('close', (code, signal) => {
        if (this.partial) this.onLine(this.partial);
        for (const w of this.waiters) w.reject(new Error(`exited (${code ?? signal}) before /${w.re.source}/:\n${this.output}`));
        this.waiters = [];
        res({ code, signal });
      });
    });
  }

  get output(): string {
    return this.lines.join('\n');
  }

  waitFor(re: RegExp): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m) return Promise.resolve(m);
    }
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.reject(new Error(`already exited; no /${re.source}/ in:\n${this.output}`));
    }
    return new Promise((resolve, reject) => this.waiters.push({ re, resolve, reject }));
  }

  type(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  async kill(): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  private onLine(line: string): void {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      const m = line.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
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
