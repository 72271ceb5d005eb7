/**
 * Node naming: a group expands to replicas (alice-1..alice-n; a count of 1 keeps the plain name), and
 * expectations and links may name either a replica or a whole group. Shared by check.ts and resolve.ts.
 */
import type { TopologyFile } from './schema.js';

export function replicaNames(group: string, count: number | undefined): string[] {
  const n = count ?? 1;
  if (n === 1) return [group];
  return Array.from({ length: n }, (_, i) => `${group}-${i + 1}`);
}

export interface NodeNames {
  /** Replica name → its group, in declaration order. */
  groupOf: Map<string, string>;
  /** Group name → its replica names. */
  replicas: Map<string, string[]>;
}

export function nodeNames(file: TopologyFile): NodeNames {
  const groupOf = new Map<string, string>();
  const replicas = new Map<string, string[]>();
  for (const [group, config] of Object.entries(file.nodes)) {
    const names = replicaNames(group, config.count);
    replicas.set(group, names);
    for (const name of names) if (!groupOf.has(name)) groupOf.set(name, group);
  }
  return { groupOf, replicas };
}

/** The nodes a name stands for: a group's replicas, a single node, or nothing when unknown. */
export function expandNodeRef(names: NodeNames, ref: string): string[] {
  return names.replicas.get(ref) ?? (names.groupOf.has(ref) ? [ref] : []);
}
