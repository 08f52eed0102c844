export * from './bench/BenchOptions.js';
export * from './bench/runBench.js';
export * from './bench/formatBenchReport.js';
export * from './cli/exitCodes.js';
export * from './runtime/LocalNodeProcess.js';
export * from './runtime/nodeBinary.js';
