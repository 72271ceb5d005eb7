import { Keypair } from '../../src/identity/keypair.js';
import { QuicTransport } from '../../src/transport/quic/index.js';
import { runTransportCompliance } from '../compliance/transport-compliance.js';

runTransportCompliance('QuicTransport (real QUIC on 127.0.0.1)', async () => {
  const a = new QuicTransport({ keypair: Keypair.generate(), requestTimeoutMs: 5_000 });
  const b = new QuicTransport({ keypair: Keypair.generate(), requestTimeoutMs: 5_000 });
  return {
    a,
    b,
    cleanup: async () => {
      await a.close();
      await b.close();
    },
  };
});
