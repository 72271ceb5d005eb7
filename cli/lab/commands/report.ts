/**
 * `quicmesh-lab report RUN.json [BASELINE.json…] [-o report.html] [--markdown summary.md]`: render JSON reports
 * of `quicmesh-lab test` (any format version) as one self-contained HTML file and/or a markdown summary.
 * RUN is compared with the first BASELINE (the same tests and thresholds as `test --baseline`); the trend
 * shows the BASELINEs oldest first by their start time — reports without one (format 1) first, in the order
 * given — then RUN. Prints the comparison; exits 0 (the `test` run that made RUN gave its verdict), 2 for a
 * bad file or flag.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { ConfigError } from '../../../src/errors.js';
import type { LabContext } from '../io.js';
import { compareReports, formatComparison } from '../report/compare.js';
import { checkOutputPath, writeFileWhole } from '../report/files.js';
import { toHtml } from '../report/html.js';
import { loadReport, type RunReport } from '../report/load.js';
import { toMarkdown } from '../report/markdown.js';
import { compareFlags, compareOptionsOf, type CompareFlags } from '../report/regression.js';

interface ReportArgs extends LabContext, CompareFlags {
  run: string;
  baselines: string[];
  output?: string;
  markdown?: string;
}

/** Baselines oldest first: those without a start time first (in the order given), then by start time. */
export function trendOrder(baselines: readonly RunReport[]): RunReport[] {
  const undated = baselines.filter((b) => b.run.startedAt === null);
  const dated = baselines
    .filter((b) => b.run.startedAt !== null)
    .sort((a, b) => Date.parse(a.run.startedAt!) - Date.parse(b.run.startedAt!));
  return [...undated, ...dated];
}

export const reportCommand: CommandModule<LabContext, ReportArgs> = {
  command: 'report <run> [baselines..]',
  describe: 'render JSON reports as a self-contained HTML file and/or a markdown summary',
  builder: (yargs: Argv<LabContext>) =>
    compareFlags(yargs)
      .positional('run', { type: 'string', demandOption: true, describe: 'the JSON report of the run' })
      .positional('baselines', {
        type: 'string',
        array: true,
        default: [],
        describe: 'earlier JSON reports: the first is the baseline compared with, all make the trend',
      })
      .option('output', { alias: 'o', type: 'string', describe: 'write the HTML report to this file' })
      .option('markdown', { type: 'string', describe: 'write the markdown summary to this file' }),
  handler: (argv: ArgumentsCamelCase<ReportArgs>) => {
    const { io } = argv;
    const output = checkOutputPath(argv.output, 'output');
    const markdown = checkOutputPath(argv.markdown, 'markdown');
    if (!output && !markdown)
      throw new ConfigError('nothing to write: give -o report.html and/or --markdown FILE');
    const options = compareOptionsOf(argv);
    const run = loadReport(argv.run);
    const baselines = (argv.baselines ?? []).map((file) => loadReport(String(file)));
    for (const b of baselines)
      if (b.topology !== run.topology)
        throw new ConfigError(
          `${b.file}: a report of topology ${b.topology}, not ${run.topology} like ${run.file}`,
        );
    const cmp = baselines[0] ? compareReports(baselines[0], run, options) : null;
    if (cmp) io.stdout(formatComparison(cmp));
    if (output) {
      writeFileWhole(output, toHtml([...trendOrder(baselines), run], cmp));
      io.stdout(`wrote ${output}\n`);
    }
    if (markdown) {
      writeFileWhole(markdown, toMarkdown(run, cmp));
      io.stdout(`wrote ${markdown}\n`);
    }
  },
};

export default reportCommand;
