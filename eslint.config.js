import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', 'dist/**', 'docs/api/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // protocol logic must take its clock and randomness from injected components
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'use the injected Rng (src/core/rng.ts)' },
      ],
    },
  },
  {
    files: ['src/dht/**', 'src/storage/**', 'src/pubsub/**', 'src/nat/**', 'src/connection/**', 'src/wire/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'use the injected Rng' },
        { object: 'Date', property: 'now', message: 'use the injected Clock' },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval'],
    },
  },
);
