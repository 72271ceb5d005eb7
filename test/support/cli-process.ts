/**
 * A child process of one of our command lines whose output lines can be awaited: tests wait on
 * what the program prints (or on its exit), never on the clock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const QUICMESH_BIN = join(ROOT, 'bin', 'quicmesh.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcessOptions {
  /** Script run by node (default bin/quicmesh.js). */
  script?: string;
  env?: Record<string, string>;
  cwd?: string;
  /** 'pipe' to type into the program with `type()`. */
  stdin?: 'pipe' | 'ignore';
}

export class CliProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<Exit>;
  private waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }> = [];
  private partial = '';

  constructor(args: string[], opts: CliProcessOptions = {}) {
    this.child = spawn(process.execPath, [opts.script ?? QUICMESH_BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
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
        for (const w of this.waiters) {
          w.reject(new Error(`process exited (${code ?? signal}) before /${w.re.source}/; output:\n${this.output}`));
        }
        this.waiters = [];
        res({ code, signal });
      });
    });
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** The first line (already seen or still to come) matching `re`. */
  waitFor(re: RegExp): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m) return Promise.resolve(m);
    }
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.reject(new Error(`process already exited; no /${re.source}/ in:\n${this.output}`));
    }
    return new Promise((resolve, reject) => this.waiters.push({ re, resolve, reject }));
  }

  /** Write one line to the program's stdin (needs `stdin: 'pipe'`). */
  type(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  /** SIGTERM unless already gone; resolves with how it exited. */
  async stop(): Promise<Exit> {
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
