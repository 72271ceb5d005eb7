/** Process-level behaviour: exiting cleanly after close(), noticing a peer that died. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/bytes.js';
import { TimeoutError, TransportError } from '../../src/errors.js';
import { Keypair } from '../../src/identity/keypair.js';
import { QuicTransport } from '../../src/transport/quic/index.js';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));

describe('QuicTransport lifecycle', () => {
  it('lets the process exit on its own after close()', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', here('./quic-exit-child.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // Guard only: a process still alive after 30 s has leaked a handle.
    const guard = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      proc.on('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(guard);
    expect(err).toBe('');
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(out.trim()).toBe('reply=Ack pending=TransportError');
  });

  it('notices a peer that died without closing: the idle timeout fails what was waiting on it', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', here('./quic-peer-child.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => createInterface({ input: proc.stdout! }).once('line', resolve));
    const [addr, idHex] = line.split(' ') as [string, string];
    const a = new QuicTransport({ keypair: Keypair.generate(), idleTimeoutMs: 800, keepAliveMs: 200 });
    try {
      await a.start({ onRequest: () => ({ type: 'Ack', rejection: null }) });
      const from = { id: a.localNodeId, addr: a.localAddr };
      const target = { addr, nodeId: fromHex(idHex) };
      expect((await a.request(target, { type: 'Ping', from })).msg.type).toBe('Ack');
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      await exited;
      // Far longer deadline than the idle timeout: what ends this request is the dead connection.
      const err = await a.request(target, { type: 'Ping', from }, { timeoutMs: 30_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransportError);
      expect(err).not.toBeInstanceOf(TimeoutError);
      expect((err as Error).message).toMatch(/timed out \(peer silent\)/);
      expect(a.connectionCount).toBe(0);
    } finally {
      proc.kill('SIGKILL');
      await a.close();
    }
  });
});
