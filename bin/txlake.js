#!/usr/bin/env node
// The txlake CLI. TypeScript sources run through ts-node (transpile only: type checks are the
// build's job), so a fresh clone needs no separate compile step.
'use strict';
const path = require('node:path');

require('ts-node').register({
  transpileOnly: true,
  project: path.join(__dirname, '..', 'tsconfig.json'),
  compilerOptions: { module: 'commonjs' },
});
require('./txlake-cli.ts');
