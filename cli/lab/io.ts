/**
 * Where quicmesh-lab commands write. The root passes a LabIO to every handler in argv (as `io`), so
 * tests run commands in-process and capture their output; handlers that only use process.stdout work too.
 */

export interface LabIO {
  /** Text for stdout (write exactly this; add your own newline). */
  stdout(text: string): void;
  /** Text for stderr. */
  stderr(text: string): void;
  /** Whether stdout is a terminal (live progress lines, widths). */
  isTTY: boolean;
}

export const processIO: LabIO = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
};

/** What the root adds to every command's argv. */
export interface LabContext {
  io: LabIO;
}

/** An in-memory LabIO for tests and embedding. */
export function captureIO(isTTY = false): LabIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, isTTY, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
}
