/**
 * Validates raw YAML data against the zod schema and turns zod's issues into short messages
 * ("unknown key "hairpn" (allowed: nat, wan, …)", "expected one of none, full-cone, …", "required")
 * with the YAML path each applies to.
 */
import { z } from 'zod';
import type { PathSegment } from './errors.js';
import type { CheckIssue } from './check.js';
import { TopologyFileSchema, type TopologyFile } from './schema.js';

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value} ${String(value)}`;
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** Messages for issues whose schema gives none of its own. */
function errorMap(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}; got ${describeValue(issue.input)}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `needs at least ${issue.minimum} entries`
        : `must be at least ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array'
        ? `allows at most ${issue.maximum} entries`
        : `must be at most ${issue.maximum}`;
    default:
      return issue.message ?? issue.code ?? 'invalid';
  }
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** The keys an object schema at `path` allows; [] when the path does not lead to an object schema. */
export function allowedKeysAt(path: readonly PathSegment[]): string[] {
  let schema: z.ZodType | undefined = TopologyFileSchema;
  const unwrap = (s: z.ZodType | undefined): z.ZodType | undefined => {
    let cur = s;
    while (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) cur = cur.unwrap() as z.ZodType;
    return cur;
  };
  for (const segment of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(segment)];
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else return [];
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function toPath(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((s) => (typeof s === 'number' ? s : String(s)));
}

function convert(issue: Issue, data: unknown): CheckIssue[] {
  const path = toPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(path);
      const hint = allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : '';
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown key "${key}"${hint}` }));
    }
    case 'invalid_type':
      if (valueAt(data, issue.path) === undefined) return [{ path, message: 'required' }];
      return [{ path, message: issue.message }];
    case 'invalid_key': {
      const inner = issue.issues[0]?.message ?? issue.message;
      return [{ path, message: `bad name "${String(issue.path[issue.path.length - 1])}": ${inner}` }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

export type SchemaResult = { ok: true; file: TopologyFile } | { ok: false; issues: CheckIssue[] };

export function validateTopologyData(data: unknown): SchemaResult {
  const result = TopologyFileSchema.safeParse(data, { error: errorMap });
  if (result.success) return { ok: true, file: result.data };
  return { ok: false, issues: result.error.issues.flatMap((issue) => convert(issue, data)) };
}
