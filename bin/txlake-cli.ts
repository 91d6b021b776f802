import '../cli/node-warnings';
import * as path from 'node:path';
import { main } from '../cli/program';

main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrStream: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  root: path.join(__dirname, '..'),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`txlake: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
