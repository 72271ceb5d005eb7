/**
 * Writes schema/topology.schema.json (and schema/stack.schema.json, node kinds) from the zod schema (cli/topology/schema.ts), the single source.
 * Run `npx tsx scripts/gen-schema.ts` after changing the schema; a unit test fails while they differ.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { topologySchemaText } from '../cli/topology/schema.js';
import { stackSchemaText } from '../cli/topology/kind-schema.js';

const target = fileURLToPath(new URL('../schema/topology.schema.json', import.meta.url));
writeFileSync(target, topologySchemaText());
console.log(`wrote ${target}`);

const stackTarget = fileURLToPath(new URL('../schema/stack.schema.json', import.meta.url));
writeFileSync(stackTarget, stackSchemaText());
console.log(`wrote ${stackTarget}`);
