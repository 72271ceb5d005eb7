/**
 * The scenario's clock keeps `quicmesh-lab test` alive while the timeline waits for its next entry with
 * nothing else in flight (seen: a churn run ended silently between two rounds on SystemClock, whose
 * timers are unref'd). A child process with nothing but one timer must live to see it fire.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

function runAlone(clockModule: string, clockClass: string): Promise<string> {
  const script = `const { ${clockClass} } = await import(${JSON.stringify(resolve(ROOT, clockModule))});
new ${clockClass}().setTimer(50, () => console.log('fired'));`;
  return new Promise((done, fail) =>
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, timeout: 20_000 }, (err, stdout) =>
      err ? fail(err) : done(stdout.trim()),
    ),
  );
}

describe('ScenarioClock', () => {
  it('keeps the process alive until its timer fires', async () => {
    expect(await runAlone('cli/lab/scenario/clock.ts', 'ScenarioClock')).toBe('fired');
  });

  it('unlike SystemClock, whose lone timer lets the process end first', async () => {
    expect(await runAlone('src/core/clock.ts', 'SystemClock')).toBe('');
  });
});
