// Two projects: fast unit tests of pure modules, and end-to-end tests that run
// real node processes on loopback (run in band, ephemeral ports).
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
    module: { type: 'es6' },
  },
];

const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@meshcache/(proto|client|node|operator)$': '<rootDir>/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};

export default {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/*/test/unit/**/*.test.ts'],
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/e2e/test/**/*.test.ts'],
      // e2e/test/unit holds e2e's pure unit tests (the history checker): they run in
      // the unit project, not a second time here.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/e2e/test/unit/'],
      slowTestThreshold: 30,
    },
  ],
};
