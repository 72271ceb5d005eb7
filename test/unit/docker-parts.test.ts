/**
 * The docker backend's pure parts, without an engine: the log/exec stream demultiplexer (seeded property:
 * any framing survives any chunking), ldd parsing, rootfs identity (order-independent, content-sensitive),
 * and the container specs (labels, capabilities, mounts, the node command mapped into the image).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DemuxError, Demuxer, demuxAll } from '../../cli/runtime/docker/streams.js';
import { hashEntries, normalise, parseLdd, type RootfsEntry } from '../../cli/runtime/docker/rootfs.js';
import { labels, nodeCommandInImage, nodeSpec, podSpec, routerSpec } from '../../cli/runtime/docker/containers.js';
import { LABEL } from '../../cli/runtime/docker/engine.js';
import { IN_IMAGE } from '../../cli/runtime/docker/images.js';
import { ConfigError } from '../../src/errors.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

describe('Docker stream demultiplexing', () => {
  it('splits stdout and stderr frames, whatever the chunking (seeded)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(1 as const, 2 as const), fc.string({ maxLength: 40 })), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 20 }),
        (frames, cuts) => {
          const all = Buffer.concat(frames.map(([s, t]) => frame(s, t)));
          const d = new Demuxer();
          const got: Array<[string, string]> = [];
          for (let at = 0, i = 0; at < all.length; i++) {
            const size = cuts[i % cuts.length]!;
            for (const f of d.push(all.subarray(at, at + size))) got.push([f.stream, f.data.toString()]);
            at += size;
          }
          const want = frames.map(([s, t]) => [s === 2 ? 'stderr' : 'stdout', t]);
          expect(got.map(([s, t]) => [s, t])).toEqual(want);
          expect(d.leftover).toBe(0);
        },
      ),
      { seed: 20261205, numRuns: 300 },
    );
  });

  it('keeps an unfinished frame for the next chunk, and refuses a stream that is not multiplexed', () => {
    const d = new Demuxer();
    const f = frame(1, 'hello');
    expect(d.push(f.subarray(0, 10))).toEqual([]);
    expect(d.leftover).toBe(10);
    expect(d.push(f.subarray(10)).map((x) => x.data.toString())).toEqual(['hello']);
    expect(() => new Demuxer().push(Buffer.from('plain text, no header'))).toThrow(DemuxError);
    expect(demuxAll(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'more\n')]))).toEqual({ stdout: 'out\nmore\n', stderr: 'err\n' });
  });
});

describe('image root filesystems', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qm-rootfs-'));
  const stateDir = process.env.QUICMESH_LAB_STATE_DIR;
  process.env.QUICMESH_LAB_STATE_DIR = dir; // the content-hash cache goes there, not under /run
  afterAll(() => {
    if (stateDir === undefined) delete process.env.QUICMESH_LAB_STATE_DIR;
    else process.env.QUICMESH_LAB_STATE_DIR = stateDir;
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the libraries ldd names, the loader included, and names a missing one', () => {
    const out = [
      '\tlinux-vdso.so.1 (0x00007ffd)',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f61)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f61)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f61)',
    ].join('\n');
    expect(parseLdd(out)).toEqual(['/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
    expect(() => parseLdd('\tlibmnl.so.0 => not found')).toThrow(ConfigError);
    expect(() => parseLdd('\tlibmnl.so.0 => not found')).toThrow(/libmnl\.so\.0/);
  });

  it('names a rootfs by what is in it: the same entries in any order give the same tag, a changed byte another', async () => {
    const a = join(dir, 'a');
    writeFileSync(a, 'first');
    const entries: RootfsEntry[] = [
      { type: 'file', path: '/bin/a', mode: 0o755, source: a },
      { type: 'content', path: '/etc/passwd', mode: 0o644, content: 'root:x:0:0::/root:/bin/sh\n' },
      { type: 'symlink', path: '/bin/sh', target: 'a' },
      { type: 'dir', path: '/tmp', mode: 0o1777 },
    ];
    const h1 = await hashEntries(entries);
    expect(await hashEntries([...entries].reverse())).toBe(h1);
    expect(normalise([...entries, { type: 'symlink', path: '/bin/sh', target: 'b' }]).find((e) => e.path === '/bin/sh')).toEqual({
      type: 'symlink',
      path: '/bin/sh',
      target: 'b',
    });
    // the same path in the image from a file one byte different (another file: the content-hash cache keys on inodes)
    const b = join(dir, 'b');
    writeFileSync(b, 'firsT');
    expect(await hashEntries(entries.map((e) => (e.path === '/bin/a' ? { ...e, source: b } : e)))).not.toBe(h1);
    expect(await hashEntries(entries.map((e) => (e.path === '/tmp' ? { ...e, mode: 0o755 } : e)))).not.toBe(h1);
  });
});

describe('container specs', () => {
  it('labels every container with its lab, role and machine', () => {
    expect(labels('demo', 'pod', 'alice')).toEqual({ [LABEL.lab]: 'demo', [LABEL.role]: 'pod', [LABEL.machine]: 'alice' });
  });

  it('gives routers NET_ADMIN and forwarding, no Docker network; pods no capabilities and no Docker network either', () => {
    const r = routerSpec('demo', 'r1', 'qm-demo_r_r1', 'router:1', '/data/r1');
    expect(r.HostConfig).toMatchObject({ NetworkMode: 'none', CapAdd: ['NET_ADMIN'], Sysctls: { 'net.ipv4.ip_forward': '1' } });
    expect(r.HostConfig?.Binds).toEqual(['/data/r1:/lab']);
    const p = podSpec('demo', 'alice', 'qm-demo_h_alice', 'node:1', '/data/alice');
    expect(p.HostConfig?.CapAdd).toBeUndefined();
    // the management link is the lab's veth to its own bridge, as on netns: no engine endpoint
    expect(p.HostConfig?.NetworkMode).toBe('none');
    expect(p.NetworkingConfig).toBeUndefined();
    expect(p.HostConfig?.Binds).toEqual(['/data/alice:/lab']);
  });

  it("runs a node in its pod's namespace, its data directory at /lab, the host's Node.js mapped to the image's", () => {
    const argv = [process.execPath, IN_IMAGE.bundle, 'node', '--key', '/lab/node.key'];
    expect(nodeCommandInImage(argv)).toEqual({ cmd: [IN_IMAGE.node, IN_IMAGE.bundle, 'node', '--key', '/lab/node.key'], binds: [] });
    // a host file the argv names (a test's stand-in node) is mounted read-only at the same path
    const script = join(tmpdir(), `qm-fake-node-${process.pid}.mjs`);
    writeFileSync(script, '');
    try {
      expect(nodeCommandInImage([process.execPath, script, '--flag']).binds).toEqual([`${script}:${script}:ro`]);
    } finally {
      rmSync(script);
    }
    const n = nodeSpec('demo', 'alice', 'node:1', 'pod-id', argv, '/data/alice');
    expect(n.name).toBe('qm-demo_alice');
    expect(n.HostConfig).toMatchObject({ NetworkMode: 'container:pod-id', Binds: ['/data/alice:/lab'] });
    expect(n.Labels?.[LABEL.role]).toBe('node');
  });
});
