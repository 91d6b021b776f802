#!/usr/bin/env node
// The txlake CLI. It runs the compiled bundle (dist/txlake-cli.js, built by `npm run build:cli`
// and scripts/setup.sh) while every source it was built from is unchanged; otherwise the
// TypeScript sources themselves, through ts-node (transpile only: type checks are the build's
// job), so a fresh clone or an edited tree never runs a stale CLI.
'use strict';
const path = require('node:path');
const { BUNDLE, bundleIsCurrent } = require('./cli-bundle');

if (bundleIsCurrent()) {
  process.setSourceMapsEnabled(true);
  require(BUNDLE);
} else {
  require('ts-node').register({
    transpileOnly: true,
    project: path.join(__dirname, '..', 'tsconfig.json'),
    compilerOptions: { module: 'commonjs' },
  });
  require('./txlake-cli.ts');
}
