/**
 * Topology errors: every problem found in a file becomes one issue naming file, line and YAML path,
 * and all of them are thrown together as one TopologyError so the user fixes them in one pass.
 */
import { ConfigError } from '../../src/errors.js';

export type PathSegment = string | number;

/** One problem in a topology file: file, line, YAML path and message. */
export interface TopologyIssue {
  file: string;
  /** 1-based; 0 when unknown. */
  line: number;
  /** Dotted YAML path, e.g. "routers.home.nat" or "links[2].delay"; "" for the whole file. */
  path: string;
  message: string;
}

/** "routers.home.nat", "links[0].delay", "nodes[\"odd key\"]". */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** `file:line path: message`; the line is left out when unknown, the path when it is the whole file. */
export function formatIssue(issue: TopologyIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}` : issue.file;
  return issue.path === '' ? `${where} ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}

/** Every problem found in a topology file, thrown together; its message lists them one per line. */
export class TopologyError extends ConfigError {
  readonly issues: readonly TopologyIssue[];

  constructor(issues: readonly TopologyIssue[]) {
    if (issues.length === 0) throw new RangeError('a TopologyError needs at least one issue');
    super(issues.map(formatIssue).join('\n'));
    this.issues = issues;
  }
}
