/**
 * The topology file schema: the single source of truth for its shape. Every object is strict (unknown keys
 * are errors). schema/topology.schema.json is generated from it (`npx tsx scripts/gen-schema.ts`), and a
 * test keeps the committed copy equal to the generated one. Meaning that needs more than one field
 * (references, subnets, NAT stacking) is checked afterwards by check.ts.
 */
import { z } from 'zod';
import { NAT_PRESETS, CARRIER_BEHAVIOURS } from '../../src/nat/nat-presets.js';
import {
  DURATION_HINT,
  DURATION_PATTERN,
  PERCENT_HINT,
  PERCENT_PATTERN,
  RATE_HINT,
  RATE_PATTERN,
} from './units.js';
// node kinds (issue 14): the program fields live in kind-schema.ts
import { KindField, KindSchema, PROGRAM_FIELDS } from './kind-schema.js';

/** The current topology format version; a file without `version` is read as this one. */
export const TOPOLOGY_VERSION = 1;
/** Every format version this lab reads. */
export const TOPOLOGY_VERSIONS: readonly number[] = [TOPOLOGY_VERSION];

/** The message for a `version` this lab does not read. */
export function unsupportedVersionMessage(version: unknown): string {
  const shown = typeof version === 'string' ? `"${version}"` : String(version);
  return `unsupported topology version ${shown}: this quicmesh-lab reads version ${TOPOLOGY_VERSIONS.join(', ')}`;
}

/** Names of networks, routers and node groups: they end up in interface and namespace names, so keep them plain. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;
export const NAME_HINT =
  'expected a name of lowercase letters, digits and "-", starting with a letter (at most 31)';

const Name = z.string({ error: NAME_HINT }).regex(NAME_PATTERN, { error: NAME_HINT });
const Ref = (what: string) =>
  z.string({ error: `expected the name of a ${what}` }).describe(`name of a ${what}`);

const Duration = z
  .string({ error: DURATION_HINT })
  .regex(DURATION_PATTERN, { error: DURATION_HINT })
  .describe('duration: "0" or a number with unit ms, s or m');
const Percent = z
  .string({ error: PERCENT_HINT })
  .regex(PERCENT_PATTERN, { error: PERCENT_HINT })
  .describe('percentage, e.g. "1%"');
const Rate = z
  .string({ error: RATE_HINT })
  .regex(RATE_PATTERN, { error: RATE_HINT })
  .describe('rate in bit/kbit/mbit/gbit per second, or "unlimited"');
const Port = z.int().min(1).max(65535).describe('UDP port (a command node: the port it is told in {{self.port}})');
const Role = z
  .enum(['bootstrap', 'relay', 'plain'])
  .describe('bootstrap: others join through it; relay: serves relayed connections');
const Args = z
  .array(z.string())
  .describe('extra arguments for `quicmesh node`, or appended to a command node\'s command (replaces, does not append to, the inherited list)');

const Shaping = {
  delay: Duration.optional().describe('one-way delay added to each packet'),
  jitter: Duration.optional().describe('random variation of the delay'),
  loss: Percent.optional().describe('packet loss'),
  rate: Rate.optional().describe('bandwidth limit'),
};

export const NetworkSchema = z
  .strictObject({
    kind: z
      .enum(['public', 'lan'])
      .describe('public: a routed segment without NAT; lan: a private segment behind exactly one router'),
    subnet: z
      .string({ error: 'expected a CIDR such as 192.168.1.0/24' })
      .describe('IPv4 CIDR, e.g. 192.168.1.0/24'),
  })
  .describe('a network segment');

export const RouterSchema = z
  .strictObject({
    nat: z
      .enum(NAT_PRESETS)
      .describe('NAT preset: classic name, RFC 4787 mapping-filtering name, cgnat or none'),
    wan: Ref('network').describe(
      "the upstream network (a public network, or another router's LAN when stacked)",
    ),
    lan: Ref('network').describe('the LAN network this router serves (takes .1 on it)'),
    hairpin: z.boolean().optional().describe('let LAN hosts reach each other through the public mapping'),
    mappingTimeout: Duration.optional().describe('UDP mapping lifetime (whole seconds), e.g. "30s"'),
    behaviour: z
      .enum(CARRIER_BEHAVIOURS)
      .optional()
      .describe('for nat: cgnat only: the behaviour of the carrier NAT (default port-restricted-cone)'),
  })
  .describe('a router between a WAN and a LAN');

export const LinkSchema = z
  .strictObject({
    network: Ref('network'),
    node: Ref('node or node group')
      .optional()
      .describe("shape only this node's (or group's) interface on the network"),
    ...Shaping,
  })
  .describe('link shaping for a network segment or one node on it');

const NodeOverride = z
  .strictObject({ port: Port.optional(), args: Args.optional() })
  .describe("settings for one replica, over the group's");

export const NodeGroupSchema = z
  .strictObject({
    network: Ref('network'),
    role: Role.optional(),
    count: z
      .int()
      .min(1)
      .max(1000)
      .optional()
      .describe('replicas: name-1..name-n (a count of 1 keeps the plain name)'),
    port: Port.optional(),
    args: Args.optional(),
    replicas: z
      .record(z.string(), NodeOverride)
      .optional()
      .describe('per-replica overrides, keyed by replica name'),
    // node kinds (issue 14)
    kind: KindField.optional(),
    ...PROGRAM_FIELDS,
  })
  .describe('a group of nodes (quicmesh nodes unless kind says otherwise)');

export const EXPECT_HINT =
  'expected an expectation like "alice -> bob" or "alice -> bob: direct within 2000ms"';

/** A line may be a plain string, or (because YAML reads `a -> b: direct` as a mapping) a one-key mapping. */
export const ExpectLineSchema = z.union(
  [
    z.string(),
    z
      .record(z.string(), z.string().nullable())
      .refine((line) => Object.keys(line).length === 1, {
        error: 'an expectation mapping must have exactly one key',
      })
      .meta({ minProperties: 1, maxProperties: 1 }),
  ],
  { error: EXPECT_HINT },
);

export const DefaultsSchema = z
  .strictObject({
    node: z
      .strictObject({
        role: Role.optional(),
        port: Port.optional(),
        args: Args.optional(),
        // node kinds (issue 14)
        kind: KindField.optional(),
        ...PROGRAM_FIELDS,
      })
      .optional()
      .describe('node settings every group inherits (built in: role plain, port 4433, no args)'),
    link: z
      .strictObject(Shaping)
      .optional()
      .describe('shaping applied to every network, and the fallback for fields a links entry leaves out'),
    router: z
      .strictObject({ hairpin: z.boolean().optional(), mappingTimeout: Duration.optional() })
      .optional()
      .describe('router settings (built in: no hairpin, mappingTimeout 30s)'),
  })
  .describe('settings inherited by groups, links and routers');

// ---- scenario: timed faults and checks (issue 13; resolved by scenario.ts) ---------------------

const NodeRefs = z
  .union([Ref('node or node group'), z.array(Ref('node or node group')).min(1)])
  .describe('a node or group name, or a list of them');
const LinkEnd = z.strictObject({
  network: Ref('network'),
  node: Ref('node').optional().describe("only this node's link on the network"),
});

/**
 * One step of a scenario: when (`at`, and `every` … `until` to repeat it) and exactly one action or check.
 * Which key is the step's and what it may combine with is checked by scenario.ts (checkScenario).
 */
export const ScenarioStepSchema = z
  .strictObject({
    at: Duration.describe('when: the time after the mesh is ready, e.g. "5s"'),
    every: Duration.optional().describe('repeat the step this often, up to `until`'),
    until: Duration.optional().describe('stream: when it ends; with every: the last time the step may run'),
    stop: Ref('node or node group').optional().describe("action: stop the node's process (every replica of a group)"),
    start: Ref('node or node group').optional().describe('action: start a stopped node again (same key)'),
    restart: Ref('node or node group').optional().describe('action: stop and start again (same key)'),
    churn: z
      .strictObject({
        nodes: NodeRefs.describe('the nodes to churn'),
        fraction: Percent.describe('share of them churned each round, e.g. "20%"'),
        every: Duration.describe('time between rounds'),
        for: Duration.describe('how long to churn'),
        down: Duration.optional().describe('how long a churned node stays stopped (default 0: a restart)'),
        seed: z.int().min(0).optional().describe('which nodes are picked (default 1)'),
      })
      .optional()
      .describe('action: stop and start a fraction of the nodes, a round every `every`'),
    link: z
      .strictObject({ network: Ref('network'), node: Ref('node').optional(), ...Shaping })
      .optional()
      .describe('action: change link shaping (the fields given; the others stay)'),
    'link-down': z.union([Ref('network'), LinkEnd]).optional().describe("action: cut a network's (or a node's) link"),
    'link-up': z.union([Ref('network'), LinkEnd]).optional().describe('action: restore a cut link'),
    partition: z
      .strictObject({ nodes: NodeRefs, from: NodeRefs })
      .optional()
      .describe('action: drop all traffic between `nodes` and `from`, both ways'),
    heal: z.literal(true).optional().describe('action: remove every partition'),
    'nat-reset': Ref('router').optional().describe("action: reboot a router's NAT (every mapping forgotten)"),
    move: z
      .strictObject({ node: Ref('node'), network: Ref('network'), address: z.string().optional() })
      .optional()
      .describe('action: attach a running node to another network'),
    expect: ExpectLineSchema.optional().describe(
      'check: "from -> to[: path][ within duration]" (quoted); within bounds the lookup and the connect',
    ),
    stream: z.string().optional().describe('check: "from -> to": a stream that stays intact from `at` to `until`'),
    'max-stall': Duration.optional().describe('stream: the longest pause the receiver may see'),
    'all-pairs': z
      .union([
        z.literal(true),
        z.strictObject({
          among: NodeRefs.optional().describe('the nodes to pair (default: all)'),
          path: z
            .enum(['any', 'direct', 'hole-punched', 'relayed', 'expected'])
            .optional()
            .describe("expected: the path the topology's expect list gives the pair (any where it gives none)"),
          sample: z.int().min(1).optional().describe('probe this many pairs, picked at random (default: every pair)'),
          within: Duration.optional().describe('deadline of each connect (lookup included)'),
          settle: Duration.optional().describe('skip nodes started less than this before (default 2s)'),
        }),
      ])
      .optional()
      .describe('check: every live pair connects'),
  })
  .describe('a scenario step: `at` a time, one action or check');

export const ScenarioSchema = z.array(ScenarioStepSchema).describe('timed actions and checks, from the time the mesh is ready');

/** The zod schema of a topology file (the source of schema/topology.schema.json). */
export const TopologyFileSchema = z
  .strictObject({
    version: z
      .literal(TOPOLOGY_VERSION, { error: (issue) => unsupportedVersionMessage(issue.input) })
      .optional()
      .describe(`topology format version (default ${TOPOLOGY_VERSION}, the current one)`),
    name: Name.describe('topology name'),
    description: z.string().optional().describe('free text'),
    defaults: DefaultsSchema.optional(),
    networks: z.record(Name, NetworkSchema).describe('network segments by name'),
    routers: z.record(Name, RouterSchema).optional().describe('routers by name'),
    links: z.array(LinkSchema).optional().describe('link shaping'),
    // node kinds (issue 14)
    kinds: z.record(Name, KindSchema).optional().describe('programs node groups may run, by name (kind: <name>)'),
    nodes: z.record(Name, NodeGroupSchema).describe('node groups by name'),
    expect: z
      .array(ExpectLineSchema)
      .optional()
      .describe(
        '"from -> to[: any|direct|hole-punched|relayed][ within <duration>]"; a group name means all its replicas',
      ),
    scenario: ScenarioSchema.optional(),
  })
  .describe('a quicmesh-lab topology');

/** A topology file as written (validated, before resolution). */
export type TopologyFile = z.infer<typeof TopologyFileSchema>;
export type NetworkConfig = z.infer<typeof NetworkSchema>;
export type RouterConfig = z.infer<typeof RouterSchema>;
export type LinkConfig = z.infer<typeof LinkSchema>;
export type NodeGroupConfig = z.infer<typeof NodeGroupSchema>;
export type ExpectLineConfig = z.infer<typeof ExpectLineSchema>;
export type ScenarioStepConfig = z.infer<typeof ScenarioStepSchema>;

/** The JSON Schema of a topology file, as committed in schema/topology.schema.json. */
export function topologyJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(TopologyFileSchema, { target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  const { $schema, ...rest } = generated;
  return { $schema, title: 'quicmesh-lab topology', ...rest };
}

/** The committed file's exact text: the JSON Schema, two-space indented, with a final newline. */
export function topologySchemaText(): string {
  return `${JSON.stringify(topologyJsonSchema(), null, 2)}\n`;
}
