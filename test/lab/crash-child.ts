// Child process for the crash-cleanup test: starts `up` on the given backend and kills itself with SIGKILL
// right after the hosts step, leaving a half-built lab and its state file behind, as a crash would.
import '../../cli/runtime/index.js';
import { getRuntime } from '../../cli/runtime/registry.js';
import { threeRouterLab } from './lab-fixtures.js';

const lab = process.argv[2] ?? 'qmt-crash';
const backend = process.argv[3] ?? 'netns';
await getRuntime(backend).up(threeRouterLab(lab), {
  startNodes: false,
  onProgress: (line) => {
    if (line.startsWith('hosts:')) process.kill(process.pid, 'SIGKILL');
  },
});
