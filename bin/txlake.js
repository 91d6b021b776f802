#!/usr/bin/env node
// The txlake CLI. TypeScript sources run through ts-node (transpile only: type checks are the
// build's job), so a fresh clone needs no separate compile step.
'use strict';
const path = require('node:path');

// The AWS SDK warns about Node 20's end of support on every start; keep stderr for txlake's own lines.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
  if (type === 'NodeVersionSupportWarning' || String(warning).includes('NodeVersionSupportWarning')) return;
  emitWarning(warning, ...rest);
};
require('ts-node').register({
  transpileOnly: true,
  project: path.join(__dirname, '..', 'tsconfig.json'),
  compilerOptions: { module: 'commonjs' },
});
require('./txlake-cli.ts');
