#!/usr/bin/env node
// Bundles the txlake CLI (bin/txlake-cli.ts and the project sources it imports) into one CommonJS
// file, dist/txlake-cli.js, so that `txlake` starts without compiling TypeScript. node_modules
// stay outside (required at run time); the modules only some commands need (aws-cdk-lib, DuckDB,
// aws-local-stepfunctions, the AWS SDK…) are imported inside those commands, so esbuild keeps them
// lazy. Writes the stamp bin/txlake.js checks (bin/cli-bundle.js): a source changed since the
// build means ts-node again until the next build.
//
//   node scripts/build-cli.js             build
//   node scripts/build-cli.js --if-stale  build only if the bundle is missing or not current
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, BUNDLE, STAMP, STAMP_VERSION, fileStamp, bundleIsCurrent } = require('../bin/cli-bundle');

const DIST = path.dirname(BUNDLE);
/** Files that shape the bundle without being one of its inputs. */
const SETTINGS = ['tsconfig.json', 'package.json', 'scripts/build-cli.js', 'bin/cli-bundle.js'];

/**
 * The bundle runs from dist/, not from each source's folder: a project source's `__dirname` and
 * `__filename` become the folder and file it has in the repository.
 */
const sourcePaths = {
  name: 'txlake-source-paths',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = await fs.promises.readFile(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(text)) return undefined;
      const at = (target) =>
        `require("node:path").resolve(__dirname, ${JSON.stringify(path.relative(DIST, target).split(path.sep).join('/'))})`;
      return {
        contents: text.replace(/\b__dirname\b/g, at(path.dirname(args.path))).replace(/\b__filename\b/g, at(args.path)),
        loader: 'ts',
      };
    });
  },
};

/** Writes a file by renaming a complete temporary one into place. */
function writeAtomic(file, contents) {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, contents);
  fs.renameSync(temp, file);
}

/** Builds the bundle and its stamp; returns the number of source files bundled. */
async function buildCli() {
  const esbuild = require('esbuild');
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    const result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: ['bin/txlake-cli.ts'],
      outfile: BUNDLE,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      sourcemap: 'linked',
      sourcesContent: false,
      keepNames: true,
      metafile: true,
      write: false,
      logLevel: 'warning',
      plugins: [sourcePaths],
    });
    const inputs = [...Object.keys(result.metafile.inputs), ...SETTINGS];
    const files = {};
    for (const file of inputs) files[file] = fileStamp(file);
    // A source saved while esbuild read the tree may be in the bundle as it was before: build again.
    const changed = inputs.filter((file) => files[file].mtimeMs >= started - 50);
    if (changed.length > 0 && attempt < 3) continue;
    if (changed.length > 0) throw new Error(`sources kept changing during the build: ${changed.join(', ')}`);

    fs.mkdirSync(DIST, { recursive: true });
    fs.rmSync(STAMP, { force: true });
    for (const output of result.outputFiles) writeAtomic(output.path, output.contents);
    files[path.relative(ROOT, BUNDLE)] = fileStamp(path.relative(ROOT, BUNDLE));
    writeAtomic(
      STAMP,
      `${JSON.stringify({ version: STAMP_VERSION, built_at: new Date().toISOString(), files }, null, 1)}\n`,
    );
    return Object.keys(result.metafile.inputs).length;
  }
}

if (require.main === module) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && bundleIsCurrent()) process.exit(0);
  const started = Date.now();
  buildCli().then(
    (sources) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stderr.write(`txlake: built ${path.relative(ROOT, BUNDLE)} from ${sources} sources in ${seconds} s\n`);
    },
    (error) => {
      process.stderr.write(`txlake: could not build the CLI bundle: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}

module.exports = { buildCli };
