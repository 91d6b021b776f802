// The compiled CLI: dist/txlake-cli.js, bundled from bin/txlake-cli.ts by scripts/build-cli.js,
// and its stamp: the size and modification time of every file it was built from. bin/txlake.js
// runs the bundle only while each of those files is exactly as it was then.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const BUNDLE = path.join(ROOT, 'dist', 'txlake-cli.js');
const STAMP = path.join(ROOT, 'dist', 'txlake-cli.stamp.json');
const STAMP_VERSION = 1;

/** The stamp entry of a file (path relative to the repository root). */
function fileStamp(file) {
  const stat = fs.statSync(path.join(ROOT, file));
  return { mtimeMs: stat.mtimeMs, size: stat.size };
}

/** True when the bundle exists and no file it was built from (itself included) has changed since. */
function bundleIsCurrent() {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    return false;
  }
  if (!stamp || stamp.version !== STAMP_VERSION || !stamp.files || typeof stamp.files !== 'object') return false;
  const files = Object.entries(stamp.files);
  if (!files.some(([file]) => path.join(ROOT, file) === BUNDLE)) return false;
  for (const [file, seen] of files) {
    let now;
    try {
      now = fileStamp(file);
    } catch {
      return false;
    }
    if (!seen || now.mtimeMs !== seen.mtimeMs || now.size !== seen.size) return false;
  }
  return true;
}

module.exports = { ROOT, BUNDLE, STAMP, STAMP_VERSION, fileStamp, bundleIsCurrent };
