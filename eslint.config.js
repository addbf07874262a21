// ESLint (typescript-eslint) for unetc's TypeScript. Besides the recommended rules, it keeps the
// layering the README describes: cli -> runtime -> compiler, never back up; the runtime uses the
// compiler's named modules (ir, shape, backends, analysis, spec), never its front end (syntax,
// yaml, lower) or its index; src/util is a leaf. test/architecture.test.ts checks the same rules
// on the whole import graph, and that there are no import cycles.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A no-restricted-imports rule from [regex, why] pairs (matched against the import's path). */
const forbid = (...rules) => ['error', { patterns: rules.map(([regex, message]) => ({ regex, message })) }];

const upward = {
  cli: ['(^|/)cli/', 'the CLI is the top layer: nothing below it imports it (cli -> runtime -> compiler)'],
  runtime: ['(^|/)runtime/', 'the compiler never imports the runtime (cli -> runtime -> compiler)'],
  front: [
    '(^|/)compiler/(syntax|yaml|lower)/|(^|/)compiler/(index|pipeline)\\.js$',
    "the runtime uses the compiler's named modules (ir, shape, backends, analysis, spec), not its front end or index",
  ],
};

export default tseslint.config(
  // cst.d.ts is generated (scripts/gen-grammar.ts).
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'models/', 'web/', '.exp/', 'src/compiler/syntax/cst.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: {
      // Unused names are errors, but a leading underscore says "deliberately unused".
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  { files: ['src/compiler/**/*.ts'], rules: { 'no-restricted-imports': forbid(upward.runtime, upward.cli) } },
  { files: ['src/runtime/**/*.ts'], rules: { 'no-restricted-imports': forbid(upward.cli, upward.front) } },
  {
    files: ['src/util/**/*.ts'],
    rules: {
      'no-restricted-imports': forbid(['^\\.\\./', 'src/util is a leaf: it imports nothing of unetc outside it']),
    },
  },
);
