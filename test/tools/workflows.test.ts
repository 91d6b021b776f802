// The GitHub Actions definitions (.github/) are code too: actionlint checks them (syntax, expressions,
// action inputs, job graph, permissions), and the checks below pin down the deployment contract —
// tests gate dev, dev gates prod, prod sits behind the `prod` environment's approval, AWS access
// only through OIDC.
//
// actionlint is built from source with `go install` (Go module proxy) into tools/actionlint/bin
// (git-ignored) the first time, and reused afterwards as long as it is the pinned version.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ACTIONLINT_VERSION = 'v1.7.12';
const ROOT = path.resolve(__dirname, '..', '..');
const BIN_DIR = path.join(ROOT, 'tools', 'actionlint', 'bin');
const ACTIONLINT = path.join(BIN_DIR, process.platform === 'win32' ? 'actionlint.exe' : 'actionlint');
const WORKFLOWS = path.join(ROOT, '.github', 'workflows');
const INSTALL_TIMEOUT_MS = 10 * 60_000;

interface Finding {
  message: string;
  filepath: string;
  line: number;
  column: number;
  kind: string;
}

function installedVersion(): string | undefined {
  if (!existsSync(ACTIONLINT)) return undefined;
  const out = spawnSync(ACTIONLINT, ['-version'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.split('\n')[0].trim() : undefined;
}

function ensureActionlint(): void {
  if (installedVersion() === ACTIONLINT_VERSION) return;
  mkdirSync(BIN_DIR, { recursive: true });
  const started = Date.now();
  const out = spawnSync('go', ['install', `github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}`], {
    cwd: BIN_DIR,
    env: { ...process.env, GOBIN: BIN_DIR },
    encoding: 'utf8',
    timeout: INSTALL_TIMEOUT_MS,
  });
  if (out.error) {
    throw new Error(`cannot run 'go install' for actionlint (Go 1.25+ must be on PATH): ${out.error.message}`);
  }
  if (out.status !== 0) {
    throw new Error(`go install actionlint@${ACTIONLINT_VERSION} failed (exit ${out.status}):\n${out.stderr}`);
  }
  process.stderr.write(`actionlint ${ACTIONLINT_VERSION} built in ${Math.round((Date.now() - started) / 1000)} s\n`);
  expect(installedVersion()).toBe(ACTIONLINT_VERSION);
}

// shellcheck and pyflakes are switched off so that the result does not depend on what the host
// happens to have on PATH (GitHub's runners have shellcheck, most laptops do not).
function actionlint(files: string[], cwd: string): { status: number | null; findings: Finding[]; stderr: string } {
  const out = spawnSync(ACTIONLINT, ['-no-color', '-shellcheck=', '-pyflakes=', '-format', '{{json .}}', ...files], {
    cwd,
    encoding: 'utf8',
  });
  if (out.error) throw out.error;
  const text = out.stdout.trim();
  let findings: Finding[];
  try {
    findings = text === '' || text === 'null' ? [] : (JSON.parse(text) as Finding[]);
  } catch {
    throw new Error(`unexpected actionlint output (exit ${out.status}):\n${out.stdout}\n${out.stderr}`);
  }
  return { status: out.status, findings, stderr: out.stderr };
}

function workflowFiles(): string[] {
  return readdirSync(WORKFLOWS)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(WORKFLOWS, name));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

// --- a small reader for the block-style YAML of the workflows (no YAML parser among the
// dependencies). actionlint has already validated the files; this only walks mapping keys.

interface Line {
  indent: number;
  text: string;
}

interface Node {
  inline: string;
  children: Line[];
}

function yamlLines(source: string): Line[] {
  return source
    .split(/\r?\n/)
    .map((raw) => raw.replace(/(^|\s)#.*$/, '').trimEnd())
    .filter((raw) => raw.trim() !== '')
    .map((raw) => ({ indent: raw.length - raw.trimStart().length, text: raw.trim() }));
}

function unquote(value: string): string {
  return value.trim().replace(/^(['"])(.*)\1$/, '$2');
}

/** The value of `key` among the top-level entries of `lines` (the lines with the smallest indent). */
function child(lines: Line[], key: string): Node | undefined {
  if (lines.length === 0) return undefined;
  const top = Math.min(...lines.map((l) => l.indent));
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].indent !== top) continue;
    const m = /^(['"]?)([^'":]+)\1:(?:\s+(.*))?$/.exec(lines[i].text);
    if (!m || m[2] !== key) continue;
    const children: Line[] = [];
    for (let j = i + 1; j < lines.length && lines[j].indent > top; j++) children.push(lines[j]);
    return { inline: unquote(m[3] ?? ''), children };
  }
  return undefined;
}

function at(lines: Line[], ...keys: string[]): Node | undefined {
  let node: Node | undefined = { inline: '', children: lines };
  for (const key of keys) node = node && child(node.children, key);
  return node;
}

/** A scalar or a list (flow `[a, b]` or block `- a`) as an array of strings. */
function list(node: Node | undefined): string[] {
  if (!node) return [];
  if (node.inline.startsWith('[')) return node.inline.slice(1, -1).split(',').map(unquote).filter(Boolean);
  if (node.inline !== '') return [node.inline];
  return node.children.filter((l) => l.text.startsWith('- ')).map((l) => unquote(l.text.slice(2)));
}

/** `environment: dev` or `environment: { name: dev }` / block form. */
function environmentName(job: Node | undefined): string | undefined {
  const env = job && child(job.children, 'environment');
  if (!env) return undefined;
  if (env.inline !== '' && !env.inline.startsWith('{')) return env.inline;
  const inlineName = /name:\s*([^,}]+)/.exec(env.inline);
  return inlineName ? unquote(inlineName[1]) : child(env.children, 'name')?.inline;
}

function jobText(job: Node | undefined): string {
  return (job?.children ?? []).map((l) => l.text).join('\n');
}

const LONG_LIVED_KEYS = /aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/;

/** What is wrong with a deploy workflow, as readable sentences (empty when it is right). */
function deployProblems(source: string): string[] {
  const doc = yamlLines(source);
  const problems: string[] = [];
  const check = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
  };

  check(list(at(doc, 'on', 'push', 'branches')).includes('main'), 'does not run on push to main');
  check(at(doc, 'on', 'workflow_dispatch') !== undefined, 'has no workflow_dispatch trigger');
  check(!/write/.test(jobText(at(doc, 'permissions'))), 'grants write permissions workflow-wide');

  const gate = at(doc, 'jobs', 'test');
  check(
    gate?.children.some((l) => l.text === 'uses: ./.github/workflows/ci.yml') ?? false,
    'test job does not call ci.yml',
  );

  for (const [name, env, needs] of [
    ['deploy-dev', 'dev', 'test'],
    ['deploy-prod', 'prod', 'deploy-dev'],
  ] as const) {
    const job = at(doc, 'jobs', name);
    if (!job) {
      problems.push(`no ${name} job`);
      continue;
    }
    check(list(child(job.children, 'needs')).includes(needs), `${name} does not need ${needs}`);
    check(environmentName(job) === env, `${name} does not run in the GitHub environment "${env}"`);
    check(at(job.children, 'permissions', 'id-token')?.inline === 'write', `${name} lacks id-token: write`);
    const text = jobText(job);
    check(
      /uses: aws-actions\/configure-aws-credentials@v\d+/.test(text),
      `${name} does not use configure-aws-credentials`,
    );
    check(
      /role-to-assume: \$\{\{ vars\.AWS_DEPLOY_ROLE_ARN \}\}/.test(text),
      `${name} does not assume vars.AWS_DEPLOY_ROLE_ARN`,
    );
    check(/aws-region: \$\{\{ vars\.AWS_REGION \}\}/.test(text), `${name} does not use vars.AWS_REGION`);
    check(
      new RegExp(`cdk deploy --all -c env=${env} --require-approval never`).test(text),
      `${name} does not run cdk deploy --all -c env=${env}`,
    );
    check(!LONG_LIVED_KEYS.test(text), `${name} uses long-lived AWS keys`);
  }
  return problems;
}

describe('GitHub Actions workflows', () => {
  beforeAll(ensureActionlint, INSTALL_TIMEOUT_MS + 60_000);

  it(`uses actionlint ${ACTIONLINT_VERSION}`, () => {
    expect(installedVersion()).toBe(ACTIONLINT_VERSION);
  });

  it('has the CI and deploy workflows, and actionlint finds nothing in any workflow', () => {
    const files = workflowFiles();
    expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['ci.yml', 'deploy.yml']));
    const result = actionlint(files, ROOT);
    expect(result.findings.map((f) => `${f.filepath}:${f.line}:${f.column} [${f.kind}] ${f.message}`)).toEqual([]);
    expect(result.status).toBe(0);
  });

  it('actionlint reports a broken workflow (the check can fail)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'txlake-actionlint-'));
    try {
      const file = path.join(dir, 'broken.yml');
      writeFileSync(
        file,
        [
          'on: push',
          'jobs:',
          '  build:',
          '    runs-on: ubuntu-latest',
          '    needs: no-such-job',
          '    steps:',
          '      - uses: actions/checkout@v6',
          '        with:',
          '          fetch-dept: 1',
          '      - run: echo "${{ github.evnt_name }}"',
          '',
        ].join('\n'),
      );
      const result = actionlint([file], dir);
      expect(result.status).toBe(1);
      expect(new Set(result.findings.map((f) => f.kind))).toEqual(new Set(['job-needs', 'action', 'expression']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('ci.yml', () => {
    const doc = yamlLines(readFileSync(path.join(WORKFLOWS, 'ci.yml'), 'utf8'));

    it('runs on pull requests, pushes to main and as the reusable gate of deploy.yml', () => {
      expect(at(doc, 'on', 'pull_request')).toBeDefined();
      expect(list(at(doc, 'on', 'push', 'branches'))).toEqual(['main']);
      expect(at(doc, 'on', 'workflow_call')).toBeDefined();
    });

    it('reads only, cancels superseded pull request runs and has timeouts', () => {
      expect(at(doc, 'permissions', 'contents')?.inline).toBe('read');
      expect(at(doc, 'permissions')?.children).toHaveLength(1);
      expect(at(doc, 'concurrency', 'cancel-in-progress')?.inline).toBe("${{ github.event_name == 'pull_request' }}");
      const jobs = at(doc, 'jobs')!.children;
      const jobIds = jobs.filter((l) => l.indent === jobs[0].indent).map((l) => l.text.replace(/:$/, ''));
      expect(jobIds.length).toBeGreaterThan(0);
      for (const id of jobIds) {
        expect(Number(at(doc, 'jobs', id, 'timeout-minutes')?.inline)).toBeGreaterThan(0);
        expect(jobText(at(doc, 'jobs', id))).toMatch(/run: bash scripts\/test\.sh/);
      }
    });
  });

  describe('deploy.yml', () => {
    const source = readFileSync(path.join(WORKFLOWS, 'deploy.yml'), 'utf8');

    it('gates dev on the tests and prod on dev, each in its environment, through OIDC', () => {
      expect(deployProblems(source)).toEqual([]);
    });

    it('the structural check catches a weakened workflow', () => {
      const broken: [string, string][] = [
        ['environment: prod', 'environment: dev'],
        ['needs: deploy-dev', 'needs: test'],
        ['id-token: write', 'id-token: none'],
        ['role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}', 'aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}'],
      ];
      for (const [from, to] of broken) {
        expect(source).toContain(from);
        expect(deployProblems(source.split(from).join(to))).not.toEqual([]);
      }
    });
  });

  it('no workflow or action uses long-lived AWS access keys', () => {
    const offenders = filesUnder(path.join(ROOT, '.github')).filter((f) =>
      LONG_LIVED_KEYS.test(readFileSync(f, 'utf8')),
    );
    expect(offenders.map((f) => path.relative(ROOT, f))).toEqual([]);
  });
});
