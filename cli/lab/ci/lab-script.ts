/**
 * The shell script both generated CI workflows run for one topology on one backend, as bash text. The
 * provider files (github.ts, gitlab.ts) set its variables and define `lab` (how quicmesh-lab is started
 * there: as root through sudo on GitHub's runners, directly in GitLab's root containers):
 *
 *   TOPOLOGY BACKEND REPEAT   what to run
 *   OUT BASELINE_DIR SLUG     where reports go; where the baseline and its history live; the run's file stem
 *   ON_DEFAULT_BRANCH         "true" on the default branch: the run becomes the new baseline
 *   LABEL RUN_NUMBER          the run's name in the reports (a commit); a number ordering the history
 *
 * Steps: run `quicmesh-lab test` against the baseline if there is one (--update-baseline on the default
 * branch), keep its exit code in `code`, render the HTML report with the history as the trend, and on the
 * default branch add the run to the history (the newest 10 are kept).
 */

/** How many earlier default-branch runs the trend of the HTML report shows. */
export const HISTORY_RUNS = 10;

/** The `quicmesh-lab test` command line of the script (one logical line; $BASELINE_FLAGS unquoted on purpose). */
export const TEST_COMMAND =
  'lab test "$TOPOLOGY" --backend "$BACKEND" --repeat "$REPEAT" --label "$LABEL" $BASELINE_FLAGS ' +
  '--json "$OUT/$SLUG.json" --junit "$OUT/$SLUG.xml" --markdown "$OUT/$SLUG.md"';

/** The `quicmesh-lab report` command line ($HISTORY unquoted: the history files, newest first). */
export const REPORT_COMMAND = 'lab report "$OUT/$SLUG.json" $HISTORY -o "$OUT/$SLUG.html"';

/** The values $BASELINE_FLAGS takes (the script picks one). */
export const BASELINE_FLAG_VARIANTS = ['--baseline $BASELINE --update-baseline', '--baseline $BASELINE', ''];

export function labScript(): string {
  const [update, compare] = BASELINE_FLAG_VARIANTS;
  return [
    'mkdir -p "$OUT" "$BASELINE_DIR/history"',
    'BASELINE="$BASELINE_DIR/$SLUG.json"',
    '# the default branch compares with its previous run and becomes the baseline; other branches compare with it',
    'BASELINE_FLAGS=""',
    'if [ "$ON_DEFAULT_BRANCH" = true ]; then',
    `  BASELINE_FLAGS="${update}"`,
    'elif [ -f "$BASELINE" ]; then',
    `  BASELINE_FLAGS="${compare}"`,
    'else',
    '  echo "no baseline yet for $SLUG: this run is not compared"',
    'fi',
    'set +e',
    TEST_COMMAND,
    'code=$?',
    'set -e',
    'echo "quicmesh-lab test exited $code (0 ok, 1 expectation failed, 2 bad input, 3 regression)"',
    '# the HTML report: this run, compared with the newest earlier default-branch run, the others as its trend',
    `HISTORY="$(ls -r "$BASELINE_DIR/history/$SLUG".*.json 2>/dev/null | head -n ${HISTORY_RUNS} || true)"`,
    'if [ -f "$OUT/$SLUG.json" ]; then',
    `  ${REPORT_COMMAND}`,
    'fi',
    'if [ "$ON_DEFAULT_BRANCH" = true ] && [ -f "$OUT/$SLUG.json" ]; then',
    '  cp "$OUT/$SLUG.json" "$BASELINE_DIR/history/$SLUG.$(printf %08d "$RUN_NUMBER").json"',
    `  ls -r "$BASELINE_DIR/history/$SLUG".*.json | tail -n +${HISTORY_RUNS + 1} | xargs -r rm -f --`,
    'fi',
  ].join('\n');
}

/** "topologies/nat-matrix.yaml" on "netns" → nat-matrix-netns: the bash that sets SLUG. */
export const SLUG_COMMAND = 'SLUG="$(basename "$TOPOLOGY" | sed -E \'s/\\.ya?ml$//\')-$BACKEND"';
