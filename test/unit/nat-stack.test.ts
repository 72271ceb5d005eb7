import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatNatPath, formatNatStack, natStackOf } from '../../cli/nat/stack.js';
import { NatBox } from '../../src/nat/nat-model.js';
import {
  composeNatStack,
  natPresetBehaviour,
  NAT_PRESETS,
  presetNameOf,
  type NatBehaviourSpec,
  type NatPresetName,
  type NatRule,
} from '../../src/nat/nat-presets.js';
import { formatStatus, natStacksOf } from '../../cli/lab/commands/status.js';
import { scrapeTargets } from '../../cli/lab/prometheus.js';
import { planLab } from '../../cli/runtime/plan/lab-plan.js';
import { targetsFromLabState } from '../../cli/ui/targets.js';
import type { LabState } from '../../cli/runtime/state.js';
import { host, router } from '../lab/lab-fixtures.js';

const preset = fc.constantFrom(...NAT_PRESETS);
const stack = fc.array(preset, { minLength: 0, maxLength: 5 });
const behaviours = (names: readonly NatPresetName[]) => names.map((n) => natPresetBehaviour(n));
const RANK: Record<NatRule, number> = { 'endpoint-independent': 0, 'address-dependent': 1, 'address-and-port-dependent': 2 };

/**
 * Classify a chain of NatBox models (innermost first) the way RFC 5780 does from the inside,
 * against two public servers with two ports each: an independent check of the composition rule.
 */
function classifyChain(names: readonly NatPresetName[]): NatBehaviourSpec | null {
  const boxes = names.flatMap((n, i) => {
    const b = natPresetBehaviour(n);
    return b ? [new NatBox(`100.64.${i}.1`, b, { firstPort: 20000 + i * 1000 })] : [];
  });
  if (boxes.length === 0) return null;
  let nextClient = 5000;
  const out = (inside: string, dst: string): string => boxes.reduce((src, box) => box.outbound(src, dst), inside);
  const inbound = (from: string, to: string): boolean => {
    let addr: string | null = to;
    for (let i = boxes.length - 1; i >= 0 && addr !== null; i--) addr = boxes[i]!.inbound(from, addr);
    return addr !== null;
  };
  const client = (): string => `192.168.1.10:${nextClient++}`;
  const c = client();
  const m1 = out(c, '198.51.100.2:3478');
  const m2 = out(c, '198.51.100.2:3479');
  const m3 = out(c, '198.51.100.3:3478');
  const mapping: NatRule = m1 === m3 ? 'endpoint-independent' : m1 === m2 ? 'address-dependent' : 'address-and-port-dependent';
  const probe = (from: string): boolean => inbound(from, out(client(), '198.51.100.2:3478'));
  const filtering: NatRule = probe('198.51.100.3:3479')
    ? 'endpoint-independent'
    : probe('198.51.100.2:3479')
      ? 'address-dependent'
      : 'address-and-port-dependent';
  return { mapping, filtering };
}

describe('composeNatStack: what stacked NATs add up to toward the internet', () => {
  it('full-cone behind symmetric (and symmetric behind full-cone) is symmetric', () => {
    expect(presetNameOf(composeNatStack(behaviours(['full-cone', 'symmetric'])))).toBe('symmetric');
    expect(presetNameOf(composeNatStack(behaviours(['symmetric', 'full-cone'])))).toBe('symmetric');
    expect(presetNameOf(composeNatStack(behaviours(['restricted-cone', 'full-cone', 'cgnat'])))).toBe('port-restricted-cone');
    expect(presetNameOf(composeNatStack(behaviours(['full-cone', 'adm-eif'])))).toBe('adm-eif');
    expect(composeNatStack(behaviours(['none', 'none']))).toBeNull();
    expect(composeNatStack([])).toBeNull();
  });

  it('agrees with a chain of NAT models classified from the inside, for every preset stack (seeded)', () => {
    fc.assert(
      fc.property(stack, (names) => {
        expect(composeNatStack(behaviours(names))).toEqual(classifyChain(names));
      }),
      { seed: 4787, numRuns: 400 },
    );
  });

  it('is the strictest rule of each kind: order-free, idempotent, monotone, none is neutral', () => {
    fc.assert(
      fc.property(stack, stack, (a, b) => {
        const ab = composeNatStack(behaviours([...a, ...b]));
        expect(ab).toEqual(composeNatStack(behaviours([...b, ...a])));
        expect(composeNatStack(behaviours([...a, ...a]))).toEqual(composeNatStack(behaviours(a)));
        expect(composeNatStack(behaviours([...a, 'none']))).toEqual(composeNatStack(behaviours(a)));
        const alone = composeNatStack(behaviours(a));
        if (alone && ab) {
          expect(RANK[ab.mapping]).toBeGreaterThanOrEqual(RANK[alone.mapping]);
          expect(RANK[ab.filtering]).toBeGreaterThanOrEqual(RANK[alone.filtering]);
        }
      }),
      { seed: 6888, numRuns: 300 },
    );
  });

  it('names every composed behaviour with a preset, classic names first', () => {
    expect(presetNameOf(natPresetBehaviour('eim-eif'))).toBe('full-cone');
    expect(presetNameOf(natPresetBehaviour('cgnat'))).toBe('port-restricted-cone');
    expect(presetNameOf(natPresetBehaviour('apdm-adf'))).toBe('apdm-adf');
    expect(presetNameOf(null)).toBe('none');
  });
});

describe('natStackOf: the routers between a network and the internet', () => {
  const routers = [
    router('cg', 'cgnat', ['pub', '198.51.100.9'], ['carrier', '100.64.0.1'], { nat: natPresetBehaviour('symmetric') }),
    router('mid', 'restricted-cone', ['carrier', '100.64.0.2'], ['mid', '10.1.0.1'], { upstreamRouter: 'cg' }),
    router('home', 'full-cone', ['mid', '10.1.0.2'], ['home', '192.168.1.1'], { upstreamRouter: 'mid' }),
    router('solo', 'eim-adf', ['pub', '198.51.100.10'], ['solo', '10.2.0.1']),
  ];

  it('follows each LAN router to its WAN side, innermost first, and composes their behaviours', () => {
    const s = natStackOf(routers, 'home');
    expect(s.path.map((h) => h.router)).toEqual(['home', 'mid', 'cg']);
    expect(s.path[2]).toEqual({ router: 'cg', preset: 'cgnat', behaviour: 'APDM/APDF' });
    expect(s).toMatchObject({ effective: 'symmetric', effectiveLabel: 'APDM/APDF' });
    expect(formatNatPath(s)).toBe('home:full-cone > mid:restricted-cone > cg:cgnat(APDM/APDF)');
    expect(formatNatStack(s)).toBe('symmetric = home:full-cone > mid:restricted-cone > cg:cgnat(APDM/APDF)');
  });

  it('a single NAT shows its preset; a public network shows public', () => {
    expect(formatNatStack(natStackOf(routers, 'solo'))).toBe('eim-adf');
    expect(natStackOf(routers, 'solo')).toMatchObject({ effective: 'restricted-cone', effectiveLabel: 'EIM/ADF' });
    expect(natStackOf(routers, 'pub')).toEqual({ path: [], effective: 'none', effectiveLabel: 'no NAT' });
    expect(formatNatStack(natStackOf(routers, 'pub'))).toBe('public');
  });

  it('refuses a loop of routers, naming them', () => {
    const loop = [router('a', 'full-cone', ['y', '10.9.0.1'], ['x', '10.8.0.1']), router('b', 'full-cone', ['x', '10.8.0.2'], ['y', '10.9.0.2'])];
    expect(() => natStackOf(loop, 'x')).toThrow(/routers a → b form a loop/);
  });
});

describe('status, the TUI and the Prometheus labels show the stack', () => {
  it('a full-cone home behind a symmetric carrier shows as symmetric, with its path, everywhere', () => {
    const topo = {
      name: 'stk',
      sourceFile: '(test)',
      networks: [
        { name: 'pub', kind: 'public' as const, subnet: '198.51.100.0/24' },
        { name: 'carrier', kind: 'lan' as const, subnet: '100.64.0.0/24' },
        { name: 'home', kind: 'lan' as const, subnet: '192.168.1.0/24' },
      ],
      routers: [
        router('cg', 'cgnat', ['pub', '198.51.100.9'], ['carrier', '100.64.0.1'], { nat: natPresetBehaviour('symmetric') }),
        router('home', 'full-cone', ['carrier', '100.64.0.2'], ['home', '192.168.1.1'], { upstreamRouter: 'cg' }),
      ],
      nodes: [host('boot', 'pub', '198.51.100.2', null), host('alice', 'home', '192.168.1.10', '192.168.1.1')],
      links: [],
      expectations: [],
    };
    const plan = planLab(topo, 9);
    const state = { lab: 'stk', nodes: plan.nodes } as unknown as LabState;
    const alice = plan.nodes.find((n) => n.name === 'alice')!;
    expect(alice.nat).toBe('full-cone'); // its own router, as before
    expect(alice.natStack).toMatchObject({ effective: 'symmetric', path: [{ router: 'home' }, { router: 'cg' }] });
    const st = {
      name: 'stk',
      backend: 'netns',
      phase: 'up',
      nodes: plan.nodes.map((n) => ({ ...n, live: null })),
    };
    const table = formatStatus(st, natStacksOf(state));
    expect(table).toMatch(/alice\s+home\s+symmetric = home:full-cone > cg:cgnat\(APDM\/APDF\)/);
    expect(table).toMatch(/boot\s+pub\s+public/);
    expect(targetsFromLabState(state).targets.find((t) => t.name === 'alice')?.nat).toBe('symmetric = home:full-cone > cg:cgnat(APDM/APDF)');
    expect(scrapeTargets(state).find((t) => t.labels.node === 'alice')?.labels).toMatchObject({
      nat: 'full-cone',
      nat_effective: 'symmetric',
      nat_path: 'home:full-cone > cg:cgnat(APDM/APDF)',
    });
  });
});
