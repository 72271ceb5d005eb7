/**
 * A tiny progress reporter for lab verbs: each step prints when it starts and when it ends, with its
 * elapsed time. On a terminal a step's line is rewritten in place ("… building" → "✓ building 412 ms");
 * elsewhere (CI logs, pipes) every event is its own plain line. No spinner, no timers.
 */

export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
}

export interface ProgressStep {
  /** Ends the step; `detail` is appended ("✓ label 412 ms (3 routers)"). */
  done(detail?: string): void;
  /** Ends the step as failed. */
  fail(reason: string): void;
}

export interface ProgressOptions {
  /** Milliseconds from any origin; defaults to performance.now. */
  now?: () => number;
}

export class Progress {
  private readonly now: () => number;
  /** The step whose start line is the last thing on a TTY line, still open; only it can be rewritten. */
  private openLine: object | null = null;

  constructor(
    private readonly sink: ProgressSink,
    options: ProgressOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /** A line of its own, e.g. a warning or a result. */
  info(message: string): void {
    this.closeOpenLine();
    this.sink.write(`${message}\n`);
  }

  start(label: string): ProgressStep {
    const started = this.now();
    const token = {};
    let ended = false;
    this.closeOpenLine();
    if (this.sink.isTTY) {
      this.sink.write(`… ${label}`);
      this.openLine = token;
    } else {
      this.sink.write(`start ${label}\n`);
    }
    const end = (ok: boolean, text: string | undefined): void => {
      if (ended) return;
      ended = true;
      const ms = Math.round(this.now() - started);
      const suffix = text ? (ok ? ` (${text})` : `: ${text}`) : '';
      if (this.sink.isTTY) {
        const line = `${ok ? '✓' : '✗'} ${label} ${ms} ms${suffix}\n`;
        if (this.openLine === token) {
          this.sink.write(`\r\x1b[2K${line}`);
          this.openLine = null;
        } else {
          this.closeOpenLine();
          this.sink.write(line);
        }
      } else {
        this.sink.write(`${ok ? 'done' : 'failed'} ${label} ${ms} ms${suffix}\n`);
      }
    };
    return { done: (detail) => end(true, detail), fail: (reason) => end(false, reason) };
  }

  /** Runs `fn` as a step: done when it resolves, failed (and rethrown) when it throws. */
  async step<T>(label: string, fn: () => Promise<T> | T): Promise<T> {
    const step = this.start(label);
    try {
      const value = await fn();
      step.done();
      return value;
    } catch (error) {
      step.fail(error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  private closeOpenLine(): void {
    if (this.openLine !== null) {
      this.sink.write('\n');
      this.openLine = null;
    }
  }
}
