/**
 * A tiny UDP echo and prober, run inside lab namespaces to measure what link shaping really does
 * (the lab hosts have no ping). `echo ADDR:PORT` answers every datagram; `probe ADDR:PORT COUNT
 * INTERVAL_MS` sends COUNT numbered probes and prints one JSON line: sent, received, RTTs in ms.
 * It prints "ready" once bound, so callers await that line instead of sleeping; the echo also prints
 * `from ADDR:PORT` for each new source, and appends that source to its replies, so the prober reports
 * (`seenAs`) what a NAT in between translated it to.
 */
import { createSocket } from 'node:dgram';

export interface ProbeResult {
  sent: number;
  received: number;
  rttsMs: number[];
  /** The address the echo saw the probes come from (the last reply's). */
  seenAs?: string;
}

function split(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i), Number(hostPort.slice(i + 1))];
}

function echo(bind: string): void {
  const [host, port] = split(bind);
  const sock = createSocket('udp4');
  const seen = new Set<string>();
  sock.on('message', (msg, rinfo) => {
    const from = `${rinfo.address}:${rinfo.port}`;
    if (!seen.has(from)) {
      seen.add(from);
      process.stdout.write(`from ${from}\n`);
    }
    sock.send(Buffer.concat([msg.subarray(0, 64), Buffer.from(from)]), rinfo.port, rinfo.address);
  });
  sock.bind(port, host, () => process.stdout.write('ready\n'));
}

function probe(target: string, count: number, intervalMs: number): void {
  const [host, port] = split(target);
  const sock = createSocket('udp4');
  const sentAt = new Map<number, bigint>();
  const rtts: number[] = [];
  let seenAs: string | undefined;
  sock.on('message', (msg) => {
    if (msg.length > 64) seenAs = msg.subarray(64).toString();
    const seq = msg.readUInt32BE(0);
    const t0 = sentAt.get(seq);
    if (t0 === undefined) return;
    sentAt.delete(seq);
    rtts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  });
  sock.bind(0, () => {
    let seq = 0;
    const tick = setInterval(() => {
      const buf = Buffer.alloc(64);
      buf.writeUInt32BE(seq, 0);
      sentAt.set(seq, process.hrtime.bigint());
      sock.send(buf, port, host);
      if (++seq === count) {
        clearInterval(tick);
        // grace period for the last replies: generous against any delay the lab can be asked for
        setTimeout(() => {
          const out: ProbeResult = { sent: count, received: rtts.length, rttsMs: rtts, ...(seenAs ? { seenAs } : {}) };
          process.stdout.write(JSON.stringify(out) + '\n');
          sock.close();
        }, 1500);
      }
    }, intervalMs);
  });
}

const [mode, addr, count, interval] = process.argv.slice(2);
if (mode === 'echo' && addr) echo(addr);
else if (mode === 'probe' && addr) probe(addr, Number(count ?? 100), Number(interval ?? 10));
else {
  process.stderr.write('usage: udp-probe echo ADDR:PORT | probe ADDR:PORT [COUNT] [INTERVAL_MS]\n');
  process.exit(2);
}
