/**
 * `quicmesh-lab image build [--force] [--json]`, `image ls`, `image prune`: the docker backend's images,
 * built from this machine's own binaries with no registry reachable (cli/runtime/docker/images.ts). `up`
 * builds missing images by itself; this verb does it ahead of time (CI caches, laptops before a demo).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { requireEngine } from '../../runtime/docker/engine.js';
import { ensureImages, listLabImages, pruneLabImages, type ImageResult } from '../../runtime/docker/images.js';
import type { LabContext } from '../io.js';

interface ImageArgs extends LabContext {
  action: string;
  force: boolean;
  json: boolean;
}

const mb = (bytes: number | null) => (bytes === null ? '-' : `${(bytes / 1e6).toFixed(0)} MB`);

export function formatImages(results: ImageResult[], seconds: number): string {
  const rows = results.map((r) => [r.role, r.ref, r.built ? `built in ${r.seconds.toFixed(1)} s` : r.sizeBytes === null ? 'missing' : 'up to date', mb(r.sizeBytes)]);
  const head = ['IMAGE', 'TAG', 'STATE', 'SIZE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line), `(${seconds.toFixed(2)} s)`, ''].join('\n');
}

export const imageCommand: CommandModule<LabContext, ImageArgs> = {
  command: 'image <action>',
  describe: 'build (or list, prune) the docker backend images, with no registry',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('action', { type: 'string', choices: ['build', 'ls', 'prune'], demandOption: true, describe: 'build, ls or prune' })
      .option('force', { type: 'boolean', default: false, describe: 'build: rebuild even when up to date' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: async (argv: ArgumentsCamelCase<ImageArgs>) => {
    const { io } = argv;
    await requireEngine();
    const t0 = performance.now();
    if (argv.action === 'ls') {
      const images = await listLabImages();
      if (argv.json) io.stdout(`${JSON.stringify(images, null, 2)}\n`);
      else io.stdout(images.map((i) => `${i.ref}  ${mb(i.sizeBytes)}${i.inUse ? '  (in use)' : ''}\n`).join('') || 'no quicmesh-lab images\n');
      return;
    }
    const say = (line: string) => (argv.json ? io.stderr(`${line}\n`) : io.stdout(`${line}\n`));
    const { images, results } = await ensureImages({ force: argv.force, check: argv.action === 'prune', say: argv.action === 'build' ? say : () => {} });
    if (argv.action === 'prune') {
      const removed = await pruneLabImages({ ...images, base: results.find((r) => r.role === 'base')?.ref });
      if (argv.json) io.stdout(`${JSON.stringify({ removed }, null, 2)}\n`);
      else io.stdout(removed.length ? removed.map((r) => `removed ${r}\n`).join('') : 'nothing to prune\n');
      return;
    }
    const seconds = (performance.now() - t0) / 1000;
    if (argv.json) io.stdout(`${JSON.stringify({ images, results, seconds }, null, 2)}\n`);
    else io.stdout(formatImages(results, seconds));
  },
};

export default imageCommand;
