#!/usr/bin/env node
// Writes the generated manifests (crds/, the chart's CRD copy, istio/) from the
// compiled operator: run through `npm run manifests:gen`, which builds first.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGeneratedFiles } from '../dist/manifests/generatedFiles.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
for (const path of writeGeneratedFiles(repoRoot)) console.log(`wrote ${path}`);
