/** Tests sit beside the code they test and run against real sockets on loopback. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/gateway', '<rootDir>/services', '<rootDir>/shared-kit', '<rootDir>/scripts'],
  testMatch: ['**/*.test.ts'],
  // Type-checking is `npm run typecheck` (CI runs it); jest only transpiles, which keeps runs fast.
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  testTimeout: 30000,
};
