/**
 * A small HTTP endpoint for one node: GET /metrics (Prometheus text format from the node's own
 * registry), GET /status (the node's status as JSON) and GET /healthz, plus any extra JSON routes
 * the caller mounts (e.g. the node's control endpoint, src/node/control.ts). Built on node:http;
 * close() stops the listener and drops open keep-alive connections, leaving nothing running.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TransportError, errorMessage } from '../errors.js';
import type { PromMetrics } from './prom.js';

/** Status server options: address, metrics, the /status snapshot and extra JSON routes. */
export interface StatusServerOptions {
  /** Interface to bind; e.g. '127.0.0.1' or '0.0.0.0'. */
  host: string;
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  metrics: PromMetrics;
  /** Snapshot for /status; bigints are rendered as decimal strings, Uint8Arrays as hex. */
  status: () => unknown;
  /** Extra JSON routes keyed "METHOD /path" (e.g. "POST /connect"); the server stays generic. */
  routes?: Readonly<Record<string, JsonRoute>>;
}

/** What a JSON route sees of a request. */
export interface JsonRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The raw request body (UTF-8), at most MAX_BODY_BYTES. */
  body: string;
}

/** A JSON route's answer: status code and a value sent as JSON. */
export interface JsonResponse {
  status: number;
  body: unknown;
}

/** A JSON route of the status server (e.g. the node's control routes). */
export type JsonRoute = (req: JsonRequest) => Promise<JsonResponse> | JsonResponse;

/** Largest request body a route accepts; control requests are tiny. */
export const MAX_BODY_BYTES = 64 * 1024;

/** A running status server: its address, and close(). */
export interface StatusServer {
  /** Base URL, e.g. "http://127.0.0.1:9464". */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves /metrics (Prometheus), /status (JSON), /healthz and the given JSON routes over HTTP. */
export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const server = createServer((req, res) => {
    void route(opts, req, res);
  });
  // Longer than any client keeps an idle connection (fetch: 4 s): a server that closes first races a client
  // reusing the connection, and a POST (the lab's /connect) is not retried — seen as "fetch failed" under load.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new TransportError(`cannot listen on ${opts.host}:${opts.port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${bound.port}`,
    host: bound.address,
    port: bound.port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function route(opts: StatusServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  try {
    const extra = opts.routes?.[`${method} ${path}`];
    if (extra) {
      const body = await readBody(req);
      if (body === null) {
        sendJson(res, 413, { error: `request body over ${MAX_BODY_BYTES} bytes` });
        return;
      }
      const out = await extra({ method, path, query: url.searchParams, body });
      sendJson(res, out.status, out.body);
      return;
    }
    const allowed = allowedMethods(opts, path);
    if (method !== 'GET' && method !== 'HEAD') {
      if (allowed.length > 0) send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: allowed.join(', ') });
      else send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      return;
    }
    switch (path) {
      case '/metrics':
        send(res, 200, opts.metrics.contentType, await opts.metrics.metricsText());
        return;
      case '/status':
        send(res, 200, 'application/json; charset=utf-8', JSON.stringify(opts.status(), jsonReplacer, 2) + '\n');
        return;
      case '/healthz':
        send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      default:
        if (allowed.length > 0) send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: allowed.join(', ') });
        else send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /status or /healthz\n');
    }
  } catch (err) {
    if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `error: ${errorMessage(err)}\n`);
    else res.destroy();
  }
}

const BUILTIN_PATHS = new Set(['/metrics', '/status', '/healthz']);

/** Methods served at `path`: GET/HEAD for the built-in paths, and those of any mounted routes. */
function allowedMethods(opts: StatusServerOptions, path: string): string[] {
  const methods = BUILTIN_PATHS.has(path) ? ['GET', 'HEAD'] : [];
  for (const key of Object.keys(opts.routes ?? {})) {
    const [m, p] = key.split(' ');
    if (p === path && m) methods.push(m);
  }
  return methods;
}

/** The body as text, or null once it grows past MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooBig = true;
      else chunks.push(chunk);
    });
    req.once('end', () => resolve(tooBig ? null : Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function sendJson(res: ServerResponse, code: number, value: unknown): void {
  send(res, code, 'application/json; charset=utf-8', JSON.stringify(value, jsonReplacer) + '\n');
}

function send(res: ServerResponse, code: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
