import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled files live in dist/src/config/, sources in src/config/: walk up to the folder holding package.json.
const here = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = here.includes('/dist/') ? resolve(here, '../../..') : resolve(here, '../..');

export const TOPICS_DIR = resolve(PROJECT_ROOT, 'topics');
export const SCHEMAS_DIR = resolve(PROJECT_ROOT, 'schemas');
export const DEPLOY_DIR = resolve(PROJECT_ROOT, 'deploy');
