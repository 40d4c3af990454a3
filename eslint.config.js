import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// ---- Import boundaries ----
// Each file gets exactly one set of restricted imports (flat config replaces a rule's options, it does not
// merge them), so the sets are composed here and applied per folder below.

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Node built-ins, with or without `node:`, and their subpaths (fs/promises). */
const NODE_BUILTINS = {
  regex: `^(node:.*|(${builtinModules.filter((m) => !m.startsWith('_')).map(escape).join('|')})(/.*)?)$`,
  message: 'Browser-side code (src/app, src/worker, src/core outside src/core/node) may not use Node built-ins: put Node-only code in src/core/node/ or cli/.',
};

/** The Node-only part of the engine. */
const CORE_NODE = {
  regex: '^(\\.\\.?/)+(.*/)?node(/.*)?$',
  message: 'src/core/node/ is Node-only (node:* imports): only cli/, scripts/ and tests may use it.',
};

/** Test support: test/support/ and anything in a test/ or testing/ folder. */
const TEST_SUPPORT = {
  regex: '(^|/)(test|testing)(/.*)?$',
  message: 'Production code may not import test support (test/): move what it needs into a non-test module.',
};

const TFJS = {
  regex: '^@tensorflow/',
  message: 'The UI never loads TensorFlow.js: engine work goes through the worker (src/app/engine.ts, src/worker/client.ts).',
};

/**
 * The TF-free engine modules the UI may import values from (checked by test/boundaries.test.ts, which walks
 * their imports). Everything else in src/core pulls in TF.js: `import type` only.
 */
export const APP_CORE_ALLOWED = [
  'inspection',
  'inspection/*',
  'metrics',
  'metrics/*',
  'heatmap',
  'image',
  'progress',
  'model/settings',
  'model/crc32',
  'train/bankCost',
  'train/adamConfig',
  'flow/config',
  'backbones/types',
];
const allowedCore = APP_CORE_ALLOWED.map((p) => escape(p).replace('\\*', '[^/]+')).join('|');
const CORE_VALUES = {
  regex: `^(\\.\\./)+core(?!/(${allowedCore})$)(/.*)?$`,
  allowTypeImports: true,
  message:
    'The UI may import values only from the TF-free parts of the engine (src/core/inspection, metrics, heatmap, image, progress, model/settings, train/bankCost, ...); use `import type` for the rest, and the worker for engine work.',
};

/** The worker's own modules pull in TF.js: the UI talks to it through the client and the protocol only. */
const WORKER_INTERNALS = {
  regex: '^(\\.\\./)+worker/(?!(client|protocol)$).+$',
  allowTypeImports: true,
  message: 'The UI talks to the engine worker through src/worker/client.ts and src/worker/protocol.ts only (`import type` from the rest).',
};

const restrict = (...patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

const TESTS = ['**/*.test.ts', '**/*.test.tsx', 'e2e/**', 'test/**'];
const CODE = ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.mjs'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'public/', 'coverage/', 'test-results/', 'test-fixtures/', '.bench/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node, ...globals.worker } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Production code anywhere (engine, worker, UI, CLI, scripts): no test support.
  { files: CODE.map((g) => `{src,cli,scripts}/${g}`), ignores: TESTS, rules: restrict(TEST_SUPPORT) },
  // Browser-side engine and worker: no Node either.
  { files: ['src/core/**', 'src/worker/**'], ignores: ['src/core/node/**', ...TESTS], rules: restrict(TEST_SUPPORT, NODE_BUILTINS, CORE_NODE) },
  // The UI: no Node, no TF.js, no engine values beyond its TF-free parts.
  { files: ['src/app/**'], ignores: TESTS, rules: restrict(TEST_SUPPORT, NODE_BUILTINS, CORE_NODE, TFJS, CORE_VALUES, WORKER_INTERNALS) },
  // UI tests run in Node and may use test support, but stay off TF.js like the code they test.
  { files: ['src/app/**/*.test.ts', 'src/app/**/*.test.tsx'], rules: restrict(TFJS, CORE_VALUES, WORKER_INTERNALS) },
);
