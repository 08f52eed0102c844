#!/usr/bin/env node
// Regenerates proto/src/gen from proto/meshcache/v1/*.proto with buf + ts-proto.
// With --check, generates into a temporary folder and exits 1 when the committed
// output differs, so CI catches a .proto edit without a regeneration.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const protoDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const buf = join(protoDir, '..', 'node_modules', '.bin', 'buf');
const check = process.argv.includes('--check');

function listFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

if (!check) {
  rmSync(join(protoDir, 'src', 'gen'), { recursive: true, force: true });
  execFileSync(buf, ['generate'], { cwd: protoDir, stdio: 'inherit' });
  process.exit(0);
}

const scratch = mkdtempSync(join(tmpdir(), 'meshcache-proto-'));
try {
  cpSync(join(protoDir, 'meshcache'), join(scratch, 'meshcache'), { recursive: true });
  for (const f of ['buf.yaml', 'buf.gen.yaml']) cpSync(join(protoDir, f), join(scratch, f));
  const plugin = join(protoDir, '..', 'node_modules', '.bin', 'protoc-gen-ts_proto');
  execFileSync(
    buf,
    [
      'generate',
      '--template',
      JSON.stringify({
        version: 'v2',
        plugins: [{ local: plugin, out: 'src/gen', opt: readOpts() }],
      }),
    ],
    { cwd: scratch, stdio: 'inherit' },
  );
  const fresh = join(scratch, 'src', 'gen');
  const committed = join(protoDir, 'src', 'gen');
  const freshFiles = listFiles(fresh)
    .map((f) => relative(fresh, f))
    .sort();
  const committedFiles = listFiles(committed)
    .map((f) => relative(committed, f))
    .sort();
  const drift = [];
  if (JSON.stringify(freshFiles) !== JSON.stringify(committedFiles)) drift.push('file list differs');
  for (const f of freshFiles) {
    if (!committedFiles.includes(f)) continue;
    if (readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(committed, f), 'utf8')) drift.push(f);
  }
  if (drift.length > 0) {
    console.error(`generated code is stale (${drift.join(', ')}): run npm run proto:gen`);
    process.exit(1);
  }
  console.log('generated code matches the .proto files');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

function readOpts() {
  const text = readFileSync(join(protoDir, 'buf.gen.yaml'), 'utf8');
  return [...text.matchAll(/^\s+- (\w+=\S+)$/gm)].map((m) => m[1]);
}
