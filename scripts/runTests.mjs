#!/usr/bin/env node
// Runs the unit tests, then the end-to-end tests (in band), and closes with one
// line summing both: "tests: N passed, N failed". Exits non-zero if either failed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const jest = join(import.meta.dirname, '..', 'node_modules', 'jest', 'bin', 'jest.js');
const scratch = mkdtempSync(join(tmpdir(), 'meshcache-tests-'));
const extra = process.argv.slice(2);
const runs = [
  ['unit', ['--selectProjects', 'unit']],
  ['e2e', ['--selectProjects', 'e2e', '--runInBand']],
];

let passed = 0;
let failed = 0;
let skipped = 0;
let ok = true;
for (const [name, args] of runs) {
  const out = join(scratch, `${name}.json`);
  const res = spawnSync(
    process.execPath,
    ['--experimental-vm-modules', jest, ...args, '--json', `--outputFile=${out}`, ...extra],
    { stdio: 'inherit' },
  );
  if (res.status !== 0) ok = false;
  try {
    const r = JSON.parse(readFileSync(out, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
    if (r.numTotalTests === 0) ok = false;
  } catch {
    ok = false;
    failed += 1;
    console.error(`${name} tests produced no results`);
  }
}
rmSync(scratch, { recursive: true, force: true });
console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(ok && failed === 0 ? 0 : 1);
