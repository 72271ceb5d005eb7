import tseslint from 'typescript-eslint';

/**
 * The rooms of src/ (docs/contributing.md). Protocol folders are sans-IO: no socket, file, OS or
 * process access, no clock and no randomness but the injected components. The drivers' rooms —
 * src/traversal, src/transport/quic, src/node, src/metrics (status server) and src/sim (the
 * simulator's harness) — may do I/O. The real clock, randomness and log output are implemented in
 * src/core/clock.ts, rng.ts and logger.ts, the one place they may touch the globals.
 */
const PROTOCOL = [
  'src/core/**',
  'src/identity/**',
  'src/wire/**',
  'src/transport/*.ts',
  'src/transport/memory/**',
  'src/dht/**',
  'src/storage/**',
  'src/tiering/**',
  'src/pubsub/**',
  'src/nat/**',
  'src/connection/**',
  'src/errors.ts',
  'src/constants.ts',
];
const COMPONENT_IMPLEMENTATIONS = ['src/core/clock.ts', 'src/core/rng.ts', 'src/core/logger.ts'];

const IO_MODULES = ['dgram', 'net', 'dns', 'http', 'https', 'fs', 'fs/promises', 'os', 'child_process'];
const ioImports = IO_MODULES.flatMap((m) => [m, `node:${m}`]).map((name) => ({
  name,
  message: 'protocol code is sans-IO: take the transport (or a driver in src/traversal) instead',
}));

const clockAndRandom = {
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: 'use the injected Rng (src/core/rng.ts)' },
    { object: 'Date', property: 'now', message: 'use the injected Clock' },
    { object: 'performance', property: 'now', message: 'use the injected Clock' },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'use clock.setTimer' },
    { name: 'setInterval', message: 'use clock.setTimer' },
  ],
  'no-restricted-syntax': [
    'error',
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'use the injected Clock' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', 'dist/**', 'docs/api/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'use the injected Rng (src/core/rng.ts)' },
      ],
    },
  },
  {
    // every room of src/ but the simulator's harness takes time from the injected clock
    files: ['src/**'],
    ignores: [...COMPONENT_IMPLEMENTATIONS, 'src/sim/**'],
    rules: clockAndRandom,
  },
  {
    files: PROTOCOL,
    ignores: COMPONENT_IMPLEMENTATIONS,
    rules: {
      'no-restricted-imports': ['error', { paths: ioImports }],
      // nor the event loop (drivers batch socket work on it)
      'no-restricted-globals': [...clockAndRandom['no-restricted-globals'], { name: 'setImmediate', message: 'use clock.setTimer' }],
    },
  },
);
