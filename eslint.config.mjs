// ESLint flat config: typescript-eslint's recommended rules, no import cycles, the transcoding
// core kept free of Fastify, grpc-js and Node modules (STYLE.md principle 4), and the two
// package-like folders (gateway/upstream/h2, gateway/transcode/codec) entered only through their
// index.ts (STYLE.md principle 12). `npm run lint`.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Imports the pure core may not use: the HTTP framework, the gRPC client, and anything from Node. */
const NOT_IN_TRANSCODE = {
  paths: [
    { name: 'fastify', message: 'gateway/transcode is pure: bind it to Fastify in gateway/http.' },
    ...builtinModules.map((name) => ({ name, message: 'gateway/transcode is pure: no Node modules.' })),
  ],
  patterns: [
    { group: ['fastify', 'fastify/*', '@fastify/*'], message: 'gateway/transcode is pure: bind it to Fastify in gateway/http.' },
    { group: ['@grpc/*'], message: 'gateway/transcode is pure: gRPC clients live in gateway/upstream.' },
    { group: ['node:*'], message: 'gateway/transcode is pure: no Node modules.' },
  ],
};

/**
 * A folder used like a package: files outside it import `…/<dir>` or `…/<dir>/index` only.
 * The patterns match the import text (gitignore syntax), so `./h2/hpack`, `./upstream/h2/hpack` and
 * `../gateway/upstream/h2/hpack` are all caught; no other folder in the repo is named h2 or codec.
 */
function packageBoundary(dir, folder) {
  return {
    group: [`**/${dir}/**`, `!**/${dir}/index`, `!**/${dir}/index.js`, `!**/${dir}/index.ts`],
    message: `${folder} is entered through its index.ts: import '…/${dir}', not its inner files.`,
  };
}
const H2_BOUNDARY = packageBoundary('h2', 'gateway/upstream/h2');
const CODEC_BOUNDARY = packageBoundary('codec', 'gateway/transcode/codec');

export default tseslint.config(
  { ignores: ['gen/**', 'dist/**', 'node_modules/**', '.proto-deps/**', 'coverage/**', 'bench/results/**'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // no-cycle follows imports through files it parses itself: tell it how to read and find .ts.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
    rules: {
      'import-x/no-cycle': 'error',
      // Optional heavy modules (grpc-js, jose, OpenTelemetry, Swagger UI) are require()d only
      // when configured, to keep them out of memory otherwise: that is deliberate.
      '@typescript-eslint/no-require-imports': 'off',
      // Unused arguments named `_x` are intentional (interface shapes, callbacks).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests and their helpers poke at parsed JSON of any shape.
    files: ['**/*.test.ts', '**/test-support/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  // One no-restricted-imports per file (a later block replaces the rule's options, it does not merge
  // them), so each folder's block lists every restriction that applies to it.
  {
    files: ['**/*.ts'],
    ignores: ['gateway/upstream/h2/**', 'gateway/transcode/codec/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [H2_BOUNDARY, CODEC_BOUNDARY] }] },
  },
  {
    files: ['gateway/upstream/h2/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [CODEC_BOUNDARY] }] },
  },
  {
    files: ['gateway/transcode/codec/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [H2_BOUNDARY] }] },
  },
  {
    files: ['gateway/transcode/**/*.ts'],
    ignores: ['gateway/transcode/**/*.test.ts', 'gateway/transcode/codec/**'],
    rules: {
      'no-restricted-imports': ['error', { ...NOT_IN_TRANSCODE, patterns: [...NOT_IN_TRANSCODE.patterns, H2_BOUNDARY, CODEC_BOUNDARY] }],
    },
  },
  {
    files: ['gateway/transcode/codec/**/*.ts'],
    ignores: ['gateway/transcode/codec/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { ...NOT_IN_TRANSCODE, patterns: [...NOT_IN_TRANSCODE.patterns, H2_BOUNDARY] }] },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
