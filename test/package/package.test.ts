/**
 * The package from the outside: `npm pack`, the tarball installed into a fresh project (no TypeScript
 * loader there, no sources), then what a user does with it:
 *   (a) a plain .mjs imports `quicmesh` and two nodes exchange a DHT value over QUIC on loopback;
 *   (b) a .ts file type-checks against the published types (`tsc --noEmit`, the repo's typescript);
 *   (c) `npx quicmesh-lab validate` reads a shipped example topology, and `npx quicmesh --help` runs;
 * and the `quicmesh/topology` subpath loads none of the CLI (no yargs, ink, react, QUIC, Prometheus).
 * dist/ is built first when it is missing or stale (the launchers' own check). Takes a minute or two:
 * the install fetches the dependencies (from npm's cache when it has them).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distIsFresh } from '../../bin/launch.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const MINUTE = 60_000;

// What the children see: no NODE_OPTIONS (so no loader sneaks in), npm quiet.
const { NODE_OPTIONS: _loader, ...inherited } = process.env;
const env = { ...inherited, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' };

describe('the npm package, installed into a fresh project', () => {
  let dir = '';
  let files: string[] = [];
  const inProject = (cmd: string, args: string[]) =>
    run(cmd, args, { cwd: dir, env, timeout: 2 * MINUTE, maxBuffer: 16 << 20 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qm-package-'));
    if (!distIsFresh(ROOT))
      await run('npm', ['run', 'build', '--silent'], { cwd: ROOT, env, timeout: 5 * MINUTE });
    const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
      cwd: ROOT,
      env,
      maxBuffer: 16 << 20,
    });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    files = info!.files.map((f) => f.path);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await run('npm', ['install', join(dir, info!.filename), '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: dir,
      env,
      timeout: 8 * MINUTE,
    });
  }, 15 * MINUTE);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships the build, the launchers and the example topologies, and no sources, tests or benches', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/quicmesh.js',
        'bin/quicmesh-lab.js',
        'bin/launch.js',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/cli/topology/index.js',
        'dist/cli/topology/index.d.ts',
        'dist/cli/quicmesh-lab.js',
        'dist/bin/quicmesh.js',
        'topologies/nat-matrix.yaml',
        'schema/topology.schema.json',
        'CHANGELOG.md',
      ]),
    );
    const unwanted = files.filter(
      (f) =>
        /^(src|cli|test|bench|scripts|native)\//.test(f) ||
        /\.map$/.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        f.startsWith('dist/.build-stamp') ||
        /^dist\/cli\/(?!topology\/).*\.d\.ts$/.test(f),
    );
    expect(unwanted).toEqual([]);
    // declarations are rolled up per entry point: no internal module's types to import by path
    expect(files.filter((f) => f.endsWith('.d.ts')).sort()).toEqual(['dist/cli/topology/index.d.ts', 'dist/src/index.d.ts']);
    // nothing that runs TypeScript came along (esbuild does, as a dependency: the docker backend bundles the
    // node for its image with it; it transpiles nothing at run time)
    for (const pkg of ['tsx', 'typescript'])
      expect(existsSync(join(dir, 'node_modules', pkg))).toBe(false);
  });

  it(
    '(a) imports quicmesh from plain .mjs: two nodes exchange a DHT value over QUIC on loopback',
    async () => {
      writeFileSync(
        join(dir, 'dht.mjs'),
        `import { CryptoRng, Keypair, QuicTransport, SystemClock, createNode, noopMetrics, silentLogger } from 'quicmesh';

const nodes = [];
function makeNode(bootstrap) {
  const keypair = Keypair.generate();
  const components = { clock: new SystemClock(), rng: new CryptoRng(), logger: silentLogger, metrics: noopMetrics };
  const transport = new QuicTransport({ keypair, host: '127.0.0.1', port: 0, components });
  const node = createNode({ keypair, transport, components, bootstrap, dht: { maintenance: false } });
  nodes.push(node);
  return node;
}
try {
  const a = makeNode([]);
  await a.start();
  await a.bootstrap();
  const b = makeNode([a.meshNode.contact.addr]);
  await b.start();
  const joined = await b.bootstrap();
  const put = await b.services.dht.put(new TextEncoder().encode('hello from an installed quicmesh'));
  const found = await a.services.dht.findValue(put.key);
  console.log(JSON.stringify({
    joined: joined.map((r) => r.ok),
    accepted: put.accepted,
    found: found.value ? new TextDecoder().decode(found.value) : null,
  }));
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
}
`,
      );
      const { stdout } = await inProject(process.execPath, ['dht.mjs']);
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as {
        joined: boolean[];
        accepted: number;
        found: string;
      };
      expect(result.joined).toEqual([true]);
      expect(result.accepted).toBeGreaterThanOrEqual(1); // node a stored it: the STORE crossed QUIC
      expect(result.found).toBe('hello from an installed quicmesh');
    },
    2 * MINUTE,
  );

  it(
    '(b) type-checks a .ts file against the published types',
    async () => {
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
            typeRoots: [join(ROOT, 'node_modules', '@types')],
          },
          files: ['check.ts'],
        }),
      );
      writeFileSync(
        join(dir, 'check.ts'),
        `import {
  ConfigError,
  CryptoRng,
  Keypair,
  QuicTransport,
  SystemClock,
  createNode,
  noopMetrics,
  silentLogger,
  type Components,
  type DhtNode,
  type NodeAssembly,
} from 'quicmesh';
import { TOPOLOGY_VERSION, parseTopology, type ResolvedTopology } from 'quicmesh/topology';

const components: Components = { clock: new SystemClock(), rng: new CryptoRng(), logger: silentLogger, metrics: noopMetrics };

export async function startNode(bootstrap: string[]): Promise<NodeAssembly> {
  const keypair = Keypair.generate();
  const transport = new QuicTransport({ keypair, host: '127.0.0.1', port: 0, components });
  const node = createNode({ keypair, transport, components, bootstrap });
  await node.start();
  return node;
}

export async function store(node: NodeAssembly, text: string): Promise<Uint8Array> {
  const dht: DhtNode = node.services.dht;
  const { key } = await dht.put(new TextEncoder().encode(text));
  return key;
}

export function names(yaml: string): string[] {
  const topology: ResolvedTopology = parseTopology(yaml, 'inline.yaml');
  return topology.nodes.map((n) => n.name);
}

export const formatVersion: number = TOPOLOGY_VERSION;
export const isConfigError = (e: unknown): boolean => e instanceof ConfigError;

// The types are real, not any: each line below must be an error.
// @ts-expect-error -- a Keypair is not a string
export const notAString: string = Keypair.generate();
// @ts-expect-error -- createNode needs a transport
export const noTransport = createNode({ keypair: Keypair.generate(), components });
`,
      );
      const result = await run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], {
        cwd: dir,
        env,
      }).then(
        () => ({ code: 0, out: '' }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      );
      expect(result).toEqual({ code: 0, out: '' });
    },
    2 * MINUTE,
  );

  it(
    '(c) runs quicmesh-lab validate on a shipped topology, and quicmesh --help, without a loader',
    async () => {
      const shipped = join('node_modules', 'quicmesh', 'topologies', 'nat-matrix.yaml');
      const validate = await inProject('npx', ['--no', '--', 'quicmesh-lab', 'validate', shipped]);
      expect(validate.stdout.split('\n')[0]).toBe(`${shipped}: valid topology "nat-matrix"`);
      const help = await inProject('npx', ['--no', '--', 'quicmesh', '--help']);
      expect(help.stdout).toContain('quicmesh node');
      const bad = await inProject('npx', ['--no', '--', 'quicmesh-lab', 'validate', 'none-such.yaml']).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect(bad).toMatchObject({
        code: 2,
        stderr: 'quicmesh-lab: cannot read topology none-such.yaml: no such file\n',
      });
    },
    2 * MINUTE,
  );

  it(
    'loads none of the CLI for quicmesh/topology',
    async () => {
      const log = join(dir, 'loaded.txt');
      writeFileSync(
        join(dir, 'hooks.mjs'),
        `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(log)}, url + '\\n');
  return next(url, context);
}
`,
      );
      writeFileSync(
        join(dir, 'topology.mjs'),
        `import { register } from 'node:module';
register('./hooks.mjs', import.meta.url);
const { loadTopology } = await import('quicmesh/topology');
const topology = await loadTopology('node_modules/quicmesh/topologies/quickstart.yaml');
console.log(topology.nodes.length);
`,
      );
      const { stdout } = await inProject(process.execPath, ['topology.mjs']);
      expect(Number(stdout.trim())).toBeGreaterThan(0);
      const loaded = readFileSync(log, 'utf8').trim().split('\n');
      const ours = loaded
        .filter((u) => u.includes('/node_modules/quicmesh/'))
        .map((u) => u.split('/node_modules/quicmesh/')[1]);
      // the entry and the shared chunks of the build (esbuild puts a module in a chunk with others only when
      // the same entries reach them all, so these hold the topology model and what it imports, nothing more)
      expect(ours).toContain('dist/cli/topology/index.js');
      expect(ours.filter((p) => p !== 'dist/cli/topology/index.js' && !/^dist\/chunks\/[\w-]+\.js$/.test(p!))).toEqual([]);
      // no chunk of the CLIs' parser (yargs is bundled into the build, so it is no package to spot below)
      const parser = ours.filter((p) => readFileSync(join(dir, 'node_modules', 'quicmesh', p!), 'utf8').includes('recommendCommands'));
      expect(parser).toEqual([]);
      const heavy = loaded.filter((u) =>
        /\/node_modules\/(yargs|ink|react|prom-client|@matrixai|dockerode)\//.test(u),
      );
      expect(heavy).toEqual([]);
    },
    MINUTE,
  );
});
