// The layering of the tree (README "Repository layout"), checked by `scripts/test.sh`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules form no cycle.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-the-kernel',
      severity: 'error',
      comment: 'core/ imports nothing of the project but itself and the contract data.',
      from: { path: '^core/' },
      to: { path: '^(bin|cli|lib|lambdas|runner|tools|bench|test|glue)/' },
    },
    {
      name: 'lambdas-use-core-only',
      severity: 'error',
      comment: 'A Lambda step imports core/, lambdas/shared/ and its own folder only.',
      from: { path: '^lambdas/([^/]+)/' },
      to: {
        path: '^(bin|cli|lib|runner|tools|bench|test|glue)/|^lambdas/',
        pathNot: ['^lambdas/$1/', '^lambdas/shared/'],
      },
    },
    {
      name: 'lambda-shared-is-ports',
      severity: 'error',
      comment: 'lambdas/shared/ (the runtime ports) imports no step.',
      from: { path: '^lambdas/shared/' },
      to: { path: '^lambdas/', pathNot: '^lambdas/shared/' },
    },
    {
      name: 'lib-is-cdk-only',
      severity: 'error',
      comment: 'lib/ (CDK constructs and stacks) builds on core/ only.',
      from: { path: '^lib/' },
      to: { path: '^(bin|cli|lambdas|runner|tools|bench|test)/' },
    },
    {
      name: 'runner-below-cli',
      severity: 'error',
      comment: 'runner/ runs the definitions; it never imports the CLI, the tools or the tests.',
      from: { path: '^runner/' },
      to: { path: '^(bin|cli|tools|bench|test)/' },
    },
    {
      name: 'tools-use-core-only',
      severity: 'error',
      from: { path: '^tools/' },
      to: { path: '^(bin|cli|lib|lambdas|runner|bench|test)/' },
    },
    {
      name: 'only-bin-imports-cli',
      severity: 'error',
      comment:
        'The CLI is an entry point: bin/ (and its tests, and the benchmarks that time its output path) import it, nothing else.',
      from: { pathNot: '^(bin|cli|test|bench)/' },
      to: { path: '^cli/' },
    },
    {
      name: 'no-test-code-in-product',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|cdk\\.out|\\.venv|\\.lake)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
