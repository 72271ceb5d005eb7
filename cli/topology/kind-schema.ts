/**
 * Node kinds in a topology file (schema part): what a node runs. `kind: quicmesh` (the default) is the
 * quicmesh node; `kind: command` runs any program — its `command`, `env`, `ready`, `probe` and, on the
 * docker backend, `image`. A topology may name programs under `kinds:` and give a group `kind: <name>`;
 * a stack file (`--stack FILE`) is one such program applied to every group of a shipped topology.
 * Meaning across fields (which kind a name is, template variables) is checked by check-kinds.ts.
 */
import { z } from 'zod';
import { DURATION_HINT, DURATION_PATTERN } from './units.js';

/** The built-in kinds; any other `kind:` value names an entry of `kinds:`. */
export const BUILTIN_KINDS = ['quicmesh', 'command'] as const;

const Duration = z
  .string({ error: DURATION_HINT })
  .regex(DURATION_PATTERN, { error: DURATION_HINT })
  .describe('duration: "0" or a number with unit ms, s or m');

const TEMPLATE_HINT =
  'templates: {{self.name}} {{self.address}} {{self.port}} {{self.role}} {{self.network}} {{node.<name>.address}} ' +
  '{{node.<name>.port}} {{bootstrap}} {{relay}} {{lab}} {{data}} {{dir}}';

const Argv = (what: string) =>
  z
    .array(z.string({ error: 'expected a string (one argument)' }), {
      error: 'expected a list of arguments, e.g. [node, server.js]',
    })
    .min(1, { error: `${what} needs at least the program` });

const PortOrTemplate = z
  .union([z.int().min(1).max(65535), z.string()], {
    error: 'expected a port number or a template such as "{{self.port}}"',
  })
  .describe('port number, or a template such as "{{self.port}}"');

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** How the lab knows a command node is up: exactly one of udp, tcp, http, command; within `timeout`. */
export const ReadySchema = z
  .strictObject({
    udp: PortOrTemplate.optional().describe('ready once a UDP socket is bound to this port in the node'),
    tcp: PortOrTemplate.optional().describe('ready once a TCP socket listens on this port in the node'),
    http: z
      .string()
      .optional()
      .describe(
        'ready once GET on this URL answers 2xx, fetched inside the node (127.0.0.1 is the node itself)',
      ),
    command: Argv('ready.command').optional().describe('ready once this command, run in the node, exits 0'),
    timeout: Duration.optional().describe("how long to wait (default: the lab's ready timeout)"),
  })
  .refine((r) => [r.udp, r.tcp, r.http, r.command].filter((x) => x !== undefined).length === 1, {
    error: 'give exactly one of udp, tcp, http, command',
  })
  .describe('how the lab knows the program is up');

/** The fields of a program, on a `kinds:` entry, a group or `defaults.node`. */
export const PROGRAM_FIELDS = {
  command: Argv('command').optional().describe(`argv of the program (kind: command); ${TEMPLATE_HINT}`),
  env: z
    .record(
      z.string().regex(ENV_NAME, { error: 'expected an environment variable name' }),
      z.string({ error: 'expected a string' }),
    )
    .optional()
    .describe('environment variables for the program (values may use templates)'),
  ready: ReadySchema.optional(),
  probe: Argv('probe')
    .optional()
    .describe(
      'argv run in the FROM node for each expectation; exit 0 = connected; an optional last line ' +
        '{"path": "direct|hole-punched|relayed", "ms": N}; templates {{to.address}} {{to.port}} {{to.name}} {{to.id}} {{timeout}} besides the others',
    ),
  image: z
    .string()
    .min(1)
    .optional()
    .describe('docker backend: a local image to run the program in (nothing is pulled)'),
};

/** `kind:` on a group or in defaults.node. */
export const KindField = z
  .string({ error: 'expected quicmesh, command or the name of an entry of kinds' })
  .describe('quicmesh (default), command, or a name under kinds:');

/** A named program (an entry of `kinds:`). */
export const KindSchema = z
  .strictObject({
    ...PROGRAM_FIELDS,
    command: Argv('command').describe(`argv of the program; ${TEMPLATE_HINT}`),
  })
  .describe('a program a node group may run (kind: <name>)');

/** A stack file: one program, applied to every group of a topology that does not choose its kind itself. */
export const StackFileSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,30}$/, {
        error: 'expected a name of lowercase letters, digits and "-", starting with a letter',
      })
      .describe("the stack's name (reports, kind name)"),
    description: z.string().optional(),
    ...KindSchema.shape,
  })
  .describe('a program to run in every node of a topology (quicmesh-lab up/test --stack FILE)');

export type ReadyConfig = z.infer<typeof ReadySchema>;
export type KindConfig = z.infer<typeof KindSchema>;
export type StackFile = z.infer<typeof StackFileSchema>;

/** The JSON Schema of a stack file, as committed in schema/stack.schema.json. */
export function stackSchemaText(): string {
  const generated = z.toJSONSchema(StackFileSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return `${JSON.stringify({ $schema, title: 'quicmesh-lab stack', ...rest }, null, 2)}\n`;
}
