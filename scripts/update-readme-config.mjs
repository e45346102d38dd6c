// Rewrites the configuration table in README.md from the code (`learn config --markdown`).
import { readFileSync, writeFileSync } from 'node:fs';
import { configMarkdown } from '../dist/src/config/load.js';

const readme = readFileSync('README.md', 'utf8');
const next = readme.replace(/(<!-- config:start -->\n)[\s\S]*?(\n?<!-- config:end -->)/, `$1${configMarkdown()}\n<!-- config:end -->`);
writeFileSync('README.md', next);
