import { describe, expect, it } from 'vitest';
import { natConfigFromArgs } from '../../cli/node/nat-flags.js';
import { ConfigError } from '../../src/errors.js';

describe('quicmesh node NAT flags', () => {
  it('--nat-server with its options, --nat-detect with its servers', () => {
    expect(natConfigFromArgs({ 'nat-server': true, 'nat-alt-port': 5000, 'nat-partner': '198.51.100.3:4433' })).toEqual({
      natServer: { altPort: 5000, partner: '198.51.100.3:4433' },
    });
    expect(natConfigFromArgs({ 'nat-server': true })).toEqual({ natServer: { altPort: undefined, partner: undefined } });
    expect(natConfigFromArgs({ 'nat-detect': '198.51.100.2:4433,198.51.100.3:4433' })).toEqual({
      natDetect: { servers: [{ addr: '198.51.100.2:4433', altPortAddr: '198.51.100.2:4434' }, { addr: '198.51.100.3:4433' }] },
    });
    expect(natConfigFromArgs({})).toEqual({});
  });

  it('rejects server options without --nat-server, bad ports and bad partners, naming the flag', () => {
    expect(() => natConfigFromArgs({ 'nat-partner': '198.51.100.3:4433' })).toThrow(/need --nat-server/);
    expect(() => natConfigFromArgs({ 'nat-server': true, 'nat-alt-port': 70000 })).toThrow(/--nat-alt-port/);
    expect(() => natConfigFromArgs({ 'nat-server': true, 'nat-partner': 'nope' })).toThrow(/--nat-partner/);
    expect(() => natConfigFromArgs({ 'nat-detect': ',' })).toThrow(ConfigError);
  });
});
