// The checkout vaultops runs from: where `.tools/` and the dev stack's `.vaultops/` live.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
