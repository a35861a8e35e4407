// ESLint with typescript-eslint, zero warnings in CI (`npm run lint`).
// Formatting is Prettier's; nothing here overlaps it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './eslint/layers.js';

/** DESIGN.md: library code never prints, never exits, never reads the environment. */
const libraryBoundaries = {
  'no-console': 'error',
  'no-restricted-properties': [
    'error',
    {
      object: 'process',
      property: 'exit',
      message: 'The library never exits: throw a VouchError.',
    },
    {
      object: 'process',
      property: 'env',
      message: 'The library never reads the environment: take an option.',
    },
    { object: 'process', property: 'stdout', message: 'The library never prints.' },
    { object: 'process', property: 'stderr', message: 'The library never prints.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      eqeqeq: 'error',
    },
  },
  { files: ['src/**/*.ts'], ignores: ['src/cli/**', 'src/**/*.test.ts'], rules: libraryBoundaries },
  // docs/design.md: imports point down the layers (tests included: a test of a layer needs only it and what is below).
  { files: ['src/**/*.ts'], plugins: { vouch: layers }, rules: { 'vouch/layers': 'error' } },
);
