// A scriptable UDP endpoint for packet-level lab tests, run inside a host namespace: JSON lines on stdin
// drive it, JSON lines on stdout report what it got, so a test awaits events instead of sleeping.
//   {"op":"open","port":P}                    bind a socket on 0.0.0.0:P → {"ev":"open","port":P}
//   {"op":"send","port":P,"to":"A:Q","msg":M} send M from the socket on P
// Every datagram received is reported as {"ev":"recv","port":P,"from":"A:Q","msg":M}. Two messages are
// also answered, so any agent can play the public server: "whoami" gets "you A:Q" (the sender as seen
// here: its NAT mapping), and "fwd A:Q TEXT" sends TEXT to A:Q from the receiving socket.
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

const sockets = new Map();
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const split = (hp) => {
  const i = hp.lastIndexOf(':');
  return [hp.slice(0, i), Number(hp.slice(i + 1))];
};

function open(port) {
  const s = createSocket('udp4');
  s.on('message', (buf, rinfo) => {
    const msg = buf.toString();
    const from = `${rinfo.address}:${rinfo.port}`;
    say({ ev: 'recv', port, from, msg });
    if (msg === 'whoami') s.send(`you ${from}`, rinfo.port, rinfo.address);
    const fwd = /^fwd (\S+) (.*)$/.exec(msg);
    if (fwd) {
      const [host, p] = split(fwd[1]);
      s.send(fwd[2], p, host);
    }
  });
  s.bind(port, '0.0.0.0', () => {
    sockets.set(port, s);
    say({ ev: 'open', port });
  });
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === 'open') open(cmd.port);
  else if (cmd.op === 'send') {
    const [host, p] = split(cmd.to);
    sockets.get(cmd.port)?.send(cmd.msg, p, host);
  }
});
process.stdin.on('end', () => process.exit(0));
