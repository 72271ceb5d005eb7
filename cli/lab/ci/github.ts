/**
 * The GitHub Actions workflow `quicmesh-lab ci init` writes (.github/workflows/quicmesh-lab.yml): one job per
 * topology × backend (netns; docker as an experimental matrix entry whose failure does not fail the
 * workflow). Each installs the lab's Debian packages and Node 20, restores the baseline the default branch
 * last saved (actions/cache: a pull request can read the caches of its base branch), runs the lab script
 * (lab-script.ts) as root, writes the markdown to the job summary and as a pull-request comment (updated
 * in place on later pushes), uploads the JSON, JUnit, markdown and HTML reports, saves the new baseline on
 * the default branch, and fails the job with quicmesh-lab's exit code.
 */
import { labScript, SLUG_COMMAND } from './lab-script.js';

export interface WorkflowOptions {
  topologies: readonly string[];
  defaultBranch: string;
  repeat: string;
  /** Path of the quicmesh-lab script in the checked-out repository. */
  labBin: string;
  docker: boolean;
}

/** The marker that finds this job's earlier comment on a pull request (the job's SLUG follows it). */
export const COMMENT_MARKER = '<!-- quicmesh-lab ci:';

const COMMENT_SCRIPT = `const fs = require('fs');
const file = \`\${process.env.OUT}/\${process.env.SLUG}.md\`;
if (!fs.existsSync(file)) return;
const marker = \`${COMMENT_MARKER} \${process.env.SLUG} -->\`;
const body = \`\${marker}\\n\${fs.readFileSync(file, 'utf8')}\`;
const { owner, repo } = context.repo;
const issue_number = context.issue.number;
const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number });
const mine = comments.find((c) => (c.body ?? '').startsWith(marker));
if (mine) await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
else await github.rest.issues.createComment({ owner, repo, issue_number, body });`;

/** The workflow as a plain object (yaml.stringify makes the file). */
export function githubWorkflow(o: WorkflowOptions): Record<string, unknown> {
  const include = o.docker
    ? o.topologies.map((topology) => ({ topology, backend: 'docker', experimental: true }))
    : [];
  return {
    name: 'quicmesh-lab',
    on: {
      push: { branches: [o.defaultBranch] },
      pull_request: {},
      workflow_dispatch: {},
    },
    permissions: { contents: 'read', 'pull-requests': 'write' },
    jobs: {
      'nat-regression': {
        name: '${{ matrix.topology }} (${{ matrix.backend }})',
        'runs-on': 'ubuntu-latest',
        'timeout-minutes': 60,
        'continue-on-error': '${{ matrix.experimental }}',
        strategy: {
          'fail-fast': false,
          matrix: {
            topology: [...o.topologies],
            backend: ['netns'],
            experimental: [false],
            ...(include.length ? { include } : {}),
          },
        },
        env: {
          TOPOLOGY: '${{ matrix.topology }}',
          BACKEND: '${{ matrix.backend }}',
          REPEAT: o.repeat,
          OUT: '.quicmesh-lab/out',
          BASELINE_DIR: '.quicmesh-lab/baseline',
          ON_DEFAULT_BRANCH:
            "${{ github.event_name != 'pull_request' && github.ref_name == github.event.repository.default_branch }}",
        },
        steps: [
          { uses: 'actions/checkout@v4' },
          { uses: 'actions/setup-node@v4', with: { 'node-version': 20, cache: 'npm' } },
          {
            name: "Install the lab's system packages",
            run: 'sudo apt-get update -qq\nsudo apt-get install -y -qq --no-install-recommends iproute2 nftables iptables conntrack',
          },
          { run: 'npm ci' },
          { name: 'Name the run', run: `${SLUG_COMMAND}\necho "SLUG=$SLUG" >> "$GITHUB_ENV"` },
          {
            name: 'Restore the baseline of the default branch',
            uses: 'actions/cache/restore@v4',
            with: {
              path: '.quicmesh-lab/baseline',
              key: 'quicmesh-lab-${{ env.SLUG }}-${{ github.run_id }}',
              'restore-keys': 'quicmesh-lab-${{ env.SLUG }}-',
            },
          },
          {
            name: 'Run the topology',
            id: 'lab',
            env: { LABEL: '${{ github.sha }}', RUN_NUMBER: '${{ github.run_number }}' },
            run: [
              '# the lab builds network namespaces: quicmesh-lab runs as root',
              `lab() { sudo -E "$(command -v node)" ${o.labBin} "$@"; }`,
              'LABEL="${LABEL::7}"',
              labScript(),
              'sudo chown -R "$(id -u):$(id -g)" "$OUT" "$BASELINE_DIR"',
              'echo "code=$code" >> "$GITHUB_OUTPUT"',
            ].join('\n'),
          },
          {
            name: 'Job summary',
            if: 'always()',
            run: 'if [ -f "$OUT/$SLUG.md" ]; then cat "$OUT/$SLUG.md" >> "$GITHUB_STEP_SUMMARY"; fi',
          },
          {
            name: 'Comment on the pull request',
            if: "always() && github.event_name == 'pull_request'",
            // a pull request from a fork gets a read-only token: the summary is still in the job summary
            'continue-on-error': true,
            uses: 'actions/github-script@v7',
            with: { script: COMMENT_SCRIPT },
          },
          {
            name: 'Upload the reports',
            if: 'always()',
            uses: 'actions/upload-artifact@v4',
            with: {
              name: 'quicmesh-lab-${{ env.SLUG }}',
              path: '.quicmesh-lab/out/',
              'if-no-files-found': 'warn',
            },
          },
          {
            name: 'Save the new baseline',
            if: "always() && env.ON_DEFAULT_BRANCH == 'true' && hashFiles('.quicmesh-lab/baseline/*.json') != ''",
            uses: 'actions/cache/save@v4',
            with: {
              path: '.quicmesh-lab/baseline',
              key: 'quicmesh-lab-${{ env.SLUG }}-${{ github.run_id }}',
            },
          },
          {
            name: "Fail with quicmesh-lab's exit code",
            env: { CODE: '${{ steps.lab.outputs.code }}' },
            run: 'exit "${CODE:-1}"',
          },
        ],
      },
    },
  };
}
