import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json and crds/ are). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
