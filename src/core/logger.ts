/**
 * Structured logging with levels, injected like the clock. The level comes from QUICMESH_LOG
 * (error|warn|info|debug|trace, like the spec's RUST_LOG); output is one line per event:
 * `<iso time> <LEVEL> <scope>: <message> key=value ...`, the time read from the injected clock
 * (give a LineLogger the components' clock: in the simulator its lines carry virtual time).
 */
import { SystemClock, type Clock } from './clock.js';

/** Log levels, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

/** Structured fields of a log line (key=value). */
export type LogFields = Record<string, string | number | boolean | bigint | null | undefined>;

/** Leveled, scoped logging with structured fields. */
export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  trace(msg: string, fields?: LogFields): void;
  child(scope: string): Logger;
}

/** A log level from text (e.g. QUICMESH_LOG), or the fallback when it names none. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  const v = (value ?? '').trim().toLowerCase();
  return v in ORDER ? (v as LogLevel) : fallback;
}

/** LineLogger options: level, scope, where lines go and the clock for timestamps. */
export interface LineLoggerOptions {
  level?: LogLevel;
  scope?: string;
  write?: (line: string) => void;
  /** Where the timestamps come from (default: the wall clock). */
  clock?: Pick<Clock, 'now'>;
}

/** A Logger writing one line per event: timestamp, level, scope, message, key=value fields. */
export class LineLogger implements Logger {
  private readonly level: LogLevel;
  private readonly scope: string;
  private readonly write: (line: string) => void;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(opts: LineLoggerOptions = {}) {
    this.level = opts.level ?? parseLogLevel(process.env.QUICMESH_LOG);
    this.scope = opts.scope ?? 'quicmesh';
    this.write = opts.write ?? ((line) => process.stderr.write(line + '\n'));
    this.clock = opts.clock ?? new SystemClock();
  }

  child(scope: string): Logger {
    return new LineLogger({ level: this.level, scope: `${this.scope}::${scope}`, write: this.write, clock: this.clock });
  }

  error(msg: string, fields?: LogFields): void { this.log('error', msg, fields); }
  warn(msg: string, fields?: LogFields): void { this.log('warn', msg, fields); }
  info(msg: string, fields?: LogFields): void { this.log('info', msg, fields); }
  debug(msg: string, fields?: LogFields): void { this.log('debug', msg, fields); }
  trace(msg: string, fields?: LogFields): void { this.log('trace', msg, fields); }

  private log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (ORDER[level] > ORDER[this.level]) return;
    let line = `${new Date(this.clock.now()).toISOString()} ${level.toUpperCase().padEnd(5)} ${this.scope}: ${msg}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue;
        const s = String(v);
        line += ` ${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
      }
    }
    this.write(line);
  }
}

/** Discards everything: the default for library users who pass no logger, and for the simulator. */
export const silentLogger: Logger = {
  error() {}, warn() {}, info() {}, debug() {}, trace() {},
  child() { return silentLogger; },
};
