import { describe, expect, it } from 'vitest';
import { AnswerAddress, ProvisionalClients } from '../../src/transport/quic/forwarded-initials.js';

const dialled = { host: '198.51.100.20', port: 40000 };
const fresh = { host: '198.51.100.20', port: 41234 }; // the peer's symmetric NAT, another port
const other = { host: '203.0.113.9', port: 5000 };

describe('ProvisionalClients (server side of a forwarded Initial)', () => {
  it('confirms on the first datagram from the expected address, then passes everything', () => {
    const p = new ProvisionalClients<string>();
    p.add('conn', '203.0.113.1:4000');
    expect(p.check('conn', '203.0.113.1:4000', false)).toBe('pass');
    expect(p.size).toBe(0);
    expect(p.check('conn', '203.0.113.1:5555', true)).toBe('pass');
  });

  it("replaces the connection when the client's own Initial comes from elsewhere; drops anything else from there", () => {
    const p = new ProvisionalClients<string>();
    p.add('conn', '203.0.113.1:4000');
    expect(p.check('conn', '203.0.113.1:4001', false)).toBe('drop');
    expect(p.check('conn', '203.0.113.1:4001', true)).toBe('replace');
    expect(p.size).toBe(0);
    expect(p.check('other', '203.0.113.1:4001', true)).toBe('pass');
  });

  it('forgets a released connection', () => {
    const p = new ProvisionalClients<string>();
    p.add('conn', '203.0.113.1:4000');
    p.forget('conn');
    expect(p.check('conn', '203.0.113.1:4001', true)).toBe('pass');
  });
});

describe('AnswerAddress (client side of a forwarded Initial)', () => {
  it('an answer from the dialled address changes nothing', () => {
    const a = new AnswerAddress(dialled);
    expect(a.source(dialled, true)).toBeUndefined();
    a.established();
    expect(a.at).toBeUndefined();
    expect(a.destination(dialled)).toEqual(dialled);
  });

  it('follows an answer from another port once the handshake completed from there', () => {
    const a = new AnswerAddress(dialled);
    // handshake packets from the fresh port go to quiche as from the dialled address...
    expect(a.source(fresh, true)).toEqual(dialled);
    // ...but nothing is sent there before the handshake proved the peer
    expect(a.destination(dialled)).toEqual(dialled);
    a.established();
    expect(a.at).toEqual(fresh);
    expect(a.destination(dialled)).toEqual(fresh);
    expect(a.destination(other)).toEqual(other); // a path quiche opened elsewhere stays as it is
    expect(a.source(fresh, false)).toEqual(dialled);
    expect(a.source(other, false)).toBeUndefined();
  });

  it('keeps the dialled address when the peer was heard there too, or only after the handshake', () => {
    const both = new AnswerAddress(dialled);
    both.source(fresh, true);
    both.source(dialled, true);
    both.established();
    expect(both.at).toBeUndefined();
    expect(both.destination(dialled)).toEqual(dialled);
    expect(both.source(fresh, false)).toBeUndefined();

    const late = new AnswerAddress(dialled);
    late.established();
    expect(late.source(fresh, false)).toBeUndefined();
    expect(late.at).toBeUndefined();
  });

  it('takes only the first other address as the answer', () => {
    const a = new AnswerAddress(dialled);
    expect(a.source(fresh, true)).toEqual(dialled);
    expect(a.source(other, true)).toBeUndefined();
    a.established();
    expect(a.at).toEqual(fresh);
  });
});
