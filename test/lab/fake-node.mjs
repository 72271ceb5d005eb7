// A stand-in for `quicmesh node` in lab tests: serves GET /status on the --metrics address so the
// backend's start-and-wait path and `status` are tested without the real node binary.
import { createServer } from 'node:http';

const args = process.argv.slice(2);
const get = (flag) => args[args.indexOf(flag) + 1];
const [host, port] = get('--metrics').split(':');
const listen = get('--listen');
const iface = args.includes('--interface') ? get('--interface') : null;
createServer((req, res) => {
  if (req.url === '/status') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ nodeId: 'fa'.repeat(32), listen, interface: iface, peers: 0, state: 'running' }));
  } else {
    res.statusCode = 404;
    res.end();
  }
}).listen(Number(port), host, () => console.log(`listening on ${listen}, status on ${host}:${port}; args ${args.join(' ')}`));
