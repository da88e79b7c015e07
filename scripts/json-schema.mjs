// Writes the JSON contract's documents (and the live stats lines') from its one definition (src/report/json-schema.ts,
// built into dist/ by `npm run schema`): docs/json-schema.json, the JSON Schema, and docs/json.md,
// the field reference. test/json-schema.test.ts fails when either differs from the definition.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA, STATS_SCHEMA, renderJsonDoc, renderStatsDoc } from '../dist/report/json-schema.js';

const docs = fileURLToPath(new URL('../docs/', import.meta.url));
mkdirSync(docs, { recursive: true });
writeFileSync(`${docs}json-schema.json`, `${JSON.stringify(JSON_SCHEMA, null, 2)}\n`);
writeFileSync(`${docs}json.md`, renderJsonDoc(JSON_SCHEMA));
writeFileSync(`${docs}live-stats-schema.json`, `${JSON.stringify(STATS_SCHEMA, null, 2)}\n`);
writeFileSync(`${docs}live-stats.md`, renderStatsDoc(STATS_SCHEMA));
process.stdout.write('wrote docs/json-schema.json, docs/json.md, docs/live-stats-schema.json and docs/live-stats.md\n');
