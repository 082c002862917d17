/** Tests sit beside the code they test and run against real sockets on loopback. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/gateway', '<rootDir>/services', '<rootDir>/shared-kit', '<rootDir>/scripts'],
  testMatch: ['**/*.test.ts'],
  // Type-checking is `npm run typecheck` (CI runs it); jest only transpiles, which keeps runs fast.
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
    // ESM-only packages in node_modules, made CommonJS for jest (see jest-esm-transform.js).
    '/node_modules/content-disposition/.+\\.js$': '<rootDir>/jest-esm-transform.js',
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  testTimeout: 30000,
};
