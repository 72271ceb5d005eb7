/**
 * The GitLab CI file `quicmesh-lab ci init --provider gitlab` writes (.gitlab-ci.yml): a hidden template job
 * and one job per topology (parallel:matrix) on the netns backend, plus, when asked, the same on the docker
 * backend with a Docker-in-Docker service and allow_failure. Jobs run in node:20-bookworm as root on a
 * privileged runner (network namespaces and nftables need it), on merge requests and the default branch.
 * The baseline is this job's artifact from the default branch's latest pipeline (the job-artifacts API with
 * the job token: caches are split between protected and unprotected branches, artifacts are not). JUnit
 * goes to the merge-request widget; the markdown becomes a merge-request note when the project has a
 * QUICMESH_LAB_NOTE_TOKEN variable (a token with api scope; the job token cannot write notes).
 */
import type { WorkflowOptions } from './github.js';
import { labScript, SLUG_COMMAND } from './lab-script.js';

const FETCH_BASELINE = [
  '# the baseline: the artifacts this job left on the default branch',
  'JOB="$(node -p \'encodeURIComponent(process.argv[1])\' "$CI_JOB_NAME")"',
  'if curl --silent --fail --location --output baseline.zip --header "JOB-TOKEN: $CI_JOB_TOKEN" \\',
  '    "$CI_API_V4_URL/projects/$CI_PROJECT_ID/jobs/artifacts/$CI_DEFAULT_BRANCH/download?job=$JOB"; then',
  '  unzip -q -o baseline.zip ".quicmesh-lab/baseline/*" || echo "no baseline in the artifacts of $CI_DEFAULT_BRANCH"',
  'else',
  '  echo "no artifacts of this job on $CI_DEFAULT_BRANCH yet"',
  'fi',
].join('\n');

const POST_NOTE = [
  'if [ -n "${QUICMESH_LAB_NOTE_TOKEN:-}" ] && [ -n "${CI_MERGE_REQUEST_IID:-}" ] && [ -f "$OUT/$SLUG.md" ]; then',
  '  curl --silent --fail --request POST --header "PRIVATE-TOKEN: $QUICMESH_LAB_NOTE_TOKEN" \\',
  '    --data-urlencode "body@$OUT/$SLUG.md" \\',
  '    "$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes" >/dev/null \\',
  '    || echo "could not post the merge-request note"',
  'fi',
].join('\n');

export function gitlabPipeline(o: WorkflowOptions): Record<string, unknown> {
  const script = [
    `lab() { node ${o.labBin} "$@"; }`,
    SLUG_COMMAND,
    'ON_DEFAULT_BRANCH=false',
    'if [ "${CI_COMMIT_BRANCH:-}" = "$CI_DEFAULT_BRANCH" ]; then ON_DEFAULT_BRANCH=true; fi',
    'LABEL="$CI_COMMIT_SHORT_SHA"',
    'RUN_NUMBER="$CI_PIPELINE_IID"',
    FETCH_BASELINE,
    labScript(),
    POST_NOTE,
    'exit "$code"',
  ].join('\n');
  const pipeline: Record<string, unknown> = {
    '.quicmesh-lab': {
      stage: 'test',
      image: 'node:20-bookworm',
      variables: {
        REPEAT: o.repeat,
        OUT: '.quicmesh-lab/out',
        BASELINE_DIR: '.quicmesh-lab/baseline',
      },
      rules: [
        { if: '$CI_PIPELINE_SOURCE == "merge_request_event"' },
        { if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' },
      ],
      before_script: [
        'apt-get update -qq',
        'apt-get install -y -qq --no-install-recommends iproute2 nftables iptables conntrack unzip',
        'npm ci',
      ],
      script: [script],
      artifacts: {
        when: 'always',
        expire_in: '30 days',
        expose_as: 'quicmesh-lab reports',
        paths: ['.quicmesh-lab/'],
        reports: { junit: '.quicmesh-lab/out/*.xml' },
      },
    },
    'quicmesh-lab': {
      extends: '.quicmesh-lab',
      parallel: { matrix: [{ TOPOLOGY: [...o.topologies], BACKEND: 'netns' }] },
    },
  };
  if (o.docker) {
    pipeline['quicmesh-lab-docker'] = {
      extends: '.quicmesh-lab',
      allow_failure: true,
      services: ['docker:27-dind'],
      variables: { DOCKER_HOST: 'tcp://docker:2375', DOCKER_TLS_CERTDIR: '' },
      parallel: { matrix: [{ TOPOLOGY: [...o.topologies], BACKEND: 'docker' }] },
    };
  }
  return pipeline;
}
