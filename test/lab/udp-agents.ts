/**
 * Scripted UDP agents (udp-agent.mjs) in lab host namespaces, for packet-level lab tests: each agent
 * reports what it receives as events, so tests await them instead of sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const AGENT = join(import.meta.dirname, 'udp-agent.mjs');

export interface Recv {
  port: number;
  from: string;
  msg: string;
}

const bus = new EventEmitter();

/** Resolves true once `cond` holds (checked after every agent event), false after `ms`. */
export function waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
  if (cond()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const check = () => {
      if (!cond()) return;
      done(true);
    };
    const timer = setTimeout(() => done(false), ms);
    const done = (v: boolean) => {
      clearTimeout(timer);
      bus.off('event', check);
      resolve(v);
    };
    bus.on('event', check);
  });
}

export class Agent {
  readonly got: Recv[] = [];
  private readonly opened = new Set<number>();
  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const ev = JSON.parse(line) as { ev: string } & Recv;
      if (ev.ev === 'open') this.opened.add(ev.port);
      if (ev.ev === 'recv') this.got.push({ port: ev.port, from: ev.from, msg: ev.msg });
      bus.emit('event');
    });
  }

  /** An agent in network namespace `namespace`, called `name` in failures. */
  static start(namespace: string, name: string): Agent {
    const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, AGENT], { stdio: ['pipe', 'pipe', 'inherit'] });
    return new Agent(name, child);
  }

  async open(port: number): Promise<void> {
    this.child.stdin!.write(JSON.stringify({ op: 'open', port }) + '\n');
    if (!(await waitUntil(() => this.opened.has(port), 10_000))) throw new Error(`${this.name}: port ${port} did not open`);
  }

  send(port: number, to: string, msg: string): void {
    this.child.stdin!.write(JSON.stringify({ op: 'send', port, to, msg }) + '\n');
  }

  has(msg: string, from?: string): boolean {
    return this.got.some((r) => r.msg === msg && (from === undefined || r.from === from));
  }

  stop(): void {
    this.child.stdin!.end();
  }
}

/** Send until `cond` holds: a bounded number of tries, each awaiting the answer for `waitMs`. */
export async function retry(what: string, send: () => void, cond: () => boolean, tries = 40, waitMs = 50): Promise<void> {
  for (let i = 0; i < tries; i++) {
    send();
    if (await waitUntil(cond, waitMs)) return;
  }
  throw new Error(`never happened: ${what}`);
}

/** `who`'s public mapping of its socket on `port`, as the agent at `server` (a public host) sees it. */
export async function mapping(who: Agent, port: number, server: string, waitMs = 50): Promise<string> {
  const before = who.got.length;
  const answer = () => who.got.slice(before).find((r) => r.port === port && r.msg.startsWith('you '));
  await retry(`${who.name}:${port} learns its mapping`, () => who.send(port, server, 'whoami'), () => answer() !== undefined, 40, waitMs);
  return answer()!.msg.slice(4);
}
