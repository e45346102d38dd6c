// Rewrites the settings table in docs/configuration.md from the code (`learn config --markdown`); run after `npm run build`.
import { readFileSync, writeFileSync } from 'node:fs';
import { configMarkdown } from '../dist/src/config/load.js';

const doc = 'docs/configuration.md';
const text = readFileSync(doc, 'utf8');
const next = text.replace(/(<!-- config:start -->\n)[\s\S]*?(\n?<!-- config:end -->)/, `$1${configMarkdown()}\n<!-- config:end -->`);
writeFileSync(doc, next);
