/**
 * Template variables in a command node's argv, env, ready check and probe: `{{self.address}}`,
 * `{{node.boot.port}}`, `{{to.id}}`, … The lab fills them in when it starts a node (start scope) or runs a
 * probe (probe scope: the target `to.*` and other nodes' ids too). Pure: checking names here, filling in
 * with values the caller gives.
 */

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;

export type TemplateScope = 'start' | 'probe';

const SELF_FIELDS = ['name', 'address', 'port', 'role', 'network', 'group'] as const;
const NODE_FIELDS = ['address', 'port'] as const;
const PROBE_NODE_FIELDS = ['address', 'port', 'id'] as const;
const TO_FIELDS = ['name', 'address', 'port', 'role', 'network', 'id'] as const;
const PLAIN = ['bootstrap', 'relay', 'lab', 'data', 'dir'] as const;
/** Probe scope only: the connect timeout in ms (the lab kills a probe still running then). */
const PROBE_PLAIN = ['timeout'] as const;

/** What a scope offers, for messages. */
export function knownTemplates(scope: TemplateScope): string {
  const names = [
    ...SELF_FIELDS.map((f) => `self.${f}`),
    ...(scope === 'probe' ? TO_FIELDS.map((f) => `to.${f}`) : []),
    ...(scope === 'probe' ? PROBE_NODE_FIELDS : NODE_FIELDS).map((f) => `node.<name>.${f}`),
    ...PLAIN,
    ...(scope === 'probe' ? PROBE_PLAIN : []),
  ];
  return names.map((n) => `{{${n}}}`).join(' ');
}

/** The variable names used in a text, in order. */
export function templateNames(text: string): string[] {
  return [...text.matchAll(TEMPLATE)].map((m) => m[1]!);
}

/** Whether any of the texts uses `{{to.id}}` or `{{node.<name>.id}}` (the lab must then read ids from logs). */
export function usesIds(texts: readonly string[]): boolean {
  return texts.some((t) => templateNames(t).some((n) => /^(to|node\.[^.]+)\.id$/.test(n)));
}

/** Why a variable is not valid in a scope (null when it is). `nodes`: the topology's node names. */
export function templateProblem(
  name: string,
  scope: TemplateScope,
  nodes: ReadonlySet<string>,
): string | null {
  const parts = name.split('.');
  const unknown = `unknown template variable {{${name}}} (known: ${knownTemplates(scope)})`;
  if (parts.length === 1) {
    if ((PROBE_PLAIN as readonly string[]).includes(name))
      return scope === 'probe' ? null : `{{${name}}} is only known in a probe`;
    return (PLAIN as readonly string[]).includes(name) ? null : unknown;
  }
  if (parts[0] === 'self' && parts.length === 2)
    return (SELF_FIELDS as readonly string[]).includes(parts[1]!) ? null : unknown;
  if (parts[0] === 'to' && parts.length === 2) {
    if (scope !== 'probe') return `{{${name}}} is only known in a probe (the node a probe connects to)`;
    return (TO_FIELDS as readonly string[]).includes(parts[1]!) ? null : unknown;
  }
  if (parts[0] === 'node' && parts.length === 3) {
    if (!nodes.has(parts[1]!))
      return `{{${name}}}: no node named "${parts[1]}" (nodes: ${[...nodes].join(', ')})`;
    if (parts[2] === 'id' && scope !== 'probe')
      return `{{${name}}}: ids are only known in a probe (a node prints its id once started)`;
    return ((scope === 'probe' ? PROBE_NODE_FIELDS : NODE_FIELDS) as readonly string[]).includes(parts[2]!)
      ? null
      : unknown;
  }
  return unknown;
}

/** The first problem with the variables of `text`, or null. */
export function checkTemplate(text: string, scope: TemplateScope, nodes: ReadonlySet<string>): string | null {
  for (const name of templateNames(text)) {
    const problem = templateProblem(name, scope, nodes);
    if (problem) return problem;
  }
  return null;
}

/** A template value the lab does not know (yet), e.g. an id a node never printed. */
export class TemplateValueError extends Error {}

/**
 * Fill in `text`. `value` gives a variable's value, or undefined when it is not known; unknown variables
 * throw TemplateValueError naming them.
 */
export function expandTemplate(text: string, value: (name: string) => string | undefined): string {
  return text.replace(TEMPLATE, (_, name: string) => {
    const v = value(name);
    if (v === undefined) throw new TemplateValueError(`no value for {{${name}}}`);
    return v;
  });
}
