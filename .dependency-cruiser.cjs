/**
 * Architecture boundaries, checked by a tool rather than by hope (see STYLE.md and the README's
 * Architecture section):
 * - the kernel (@mlops/kernel) imports no other @mlops package and no SDK or engine;
 * - adapters (@mlops/adapters-local, @mlops/adapters-gcp) import the kernel only: never a service,
 *   the platform, the domain packages or each other; only they touch SDKs and engines;
 * - only the composition root @mlops/platform constructs adapters; services and the CLI import it
 *   in their composition-root files only, and never import an adapter package;
 * - a service imports no other service; the CLI imports services through their package entries;
 * - @mlops/testing (fakes, contract suites, emulator harness) and the Google Cloud stand-ins are
 *   test tooling: no product source imports them;
 * - packages are used through their public entries only (no deep path into shared/<package>/), and
 *   bench/ uses only public entries (no service's src/ or test/ files).
 */
const sdk = 'node_modules/(@google-cloud/|@duckdb/|better-sqlite3|@polyglot-sql/|@dataform/|google-auth-library)';
const npm = ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'];

// The public entry files of the shared packages (their package.json `exports`).
const entries = [
  '^shared/(kernel|adapters-local|platform|synthetic|gbdt|gcp-standins)/src/index\\.ts$',
  '^shared/adapters-gcp/src/(index|pubsub|firestore|storage|bigquery|dataform|vertex-ai|functions-framework|credentials|emulators)\\.ts$',
  '^shared/testing/src/(index|suites|fixtures)\\.ts$',
];

// The only product files that may import @mlops/platform: where a process is composed.
const compositionRoots = [
  '^services/(sales-gen|click-gen|startup-gen|lander|transformer|trainer|dashboard)/src/main\\.ts$',
  '^services/dashboard/src/start\\.ts$',
  '^services/trainer/src/components/main\\.ts$',
  '^services/trainer/src/serving/serving\\.main\\.ts$',
  '^cli/src/main\\.ts$',
  '^cli/src/commands/stack\\.command\\.ts$',
  '^cli/src/stack/service-worker\\.ts$',
];

const productSource =
  '^(shared/(kernel|adapters-local|adapters-gcp|platform|synthetic|gbdt)/src|services/[^/]+/src|cli/src)/';

module.exports = {
  forbidden: [
    {
      name: 'service-imports-other-service',
      severity: 'error',
      comment: 'A service imports the shared packages and never another service.',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/([^/]+)/', pathNot: '^services/$1/' },
    },
    {
      name: 'deep-import-of-package',
      severity: 'error',
      comment: 'Import a shared package by its public entry (@mlops/kernel, ...), never a file inside it.',
      from: { path: '^(services|cli|bench|scripts|infra|test)/' },
      to: { path: '^shared/[^/]+/', pathNot: entries },
    },
    {
      name: 'deep-import-across-packages',
      severity: 'error',
      comment: 'A shared package imports another one by its public entry only.',
      from: { path: '^shared/([^/]+)/' },
      to: { path: '^shared/[^/]+/', pathNot: ['^shared/$1/', ...entries] },
    },
    {
      name: 'kernel-imports-package',
      severity: 'error',
      comment: 'The kernel is self-contained: it imports no other @mlops package, service or tool.',
      from: { path: '^shared/kernel/src/' },
      to: { path: '^(shared/(?!kernel/)[^/]+/|services/|cli/|bench/)' },
    },
    {
      name: 'sdk-outside-adapters',
      severity: 'error',
      comment: 'Only the adapter packages touch SDKs and engines (the kernel, platform and services never).',
      from: { path: productSource, pathNot: '^shared/adapters-(local|gcp)/src/' },
      to: { dependencyTypes: npm, path: sdk },
    },
    {
      name: 'adapter-imports-beyond-kernel',
      severity: 'error',
      comment: 'An adapter package imports the kernel only: never a service, the platform or another package.',
      from: { path: '^shared/adapters-(local|gcp)/src/' },
      to: { path: '^(services/|cli/|bench/|shared/(?!kernel/|adapters-$1/)[^/]+/)' },
    },
    {
      name: 'product-imports-adapter',
      severity: 'error',
      comment: 'Services and the CLI take their adapters from the platform; they never import an adapter package.',
      from: { path: '^(services/[^/]+|cli)/src/' },
      to: { path: '^shared/adapters-(local|gcp)/' },
    },
    {
      name: 'platform-outside-composition-root',
      severity: 'error',
      comment:
        'Only a composition root (main.ts, start.ts, the step and serving entries, the CLI main) imports @mlops/platform.',
      from: { path: '^(services/[^/]+|cli)/src/', pathNot: compositionRoots },
      to: { path: '^shared/platform/' },
    },
    {
      name: 'product-imports-testing',
      severity: 'error',
      comment: '@mlops/testing is dev-only: only tests, benchmarks and scripts import it.',
      from: { path: productSource },
      to: { path: '^shared/testing/' },
    },
    {
      name: 'bench-imports-internals',
      severity: 'error',
      comment:
        "Benchmarks use public entries only: a service's package entry (src/index.ts), never its other files or tests.",
      from: { path: '^bench/' },
      to: { path: '^services/[^/]+/', pathNot: '^services/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'gbdt-imports-service',
      severity: 'error',
      comment: 'The GBDT package is a library: it imports no service, CLI or benchmark.',
      from: { path: '^shared/gbdt/' },
      to: { path: '^(services|cli|bench)/' },
    },
    {
      name: 'port-imports-adapter',
      severity: 'error',
      comment: 'Ports are interfaces; they never know their adapters.',
      from: { path: '\\.port\\.ts$' },
      to: { path: '(^shared/adapters-|\\.adapter\\.ts$)' },
    },
    {
      name: 'product-imports-standins',
      severity: 'error',
      comment: 'The Google Cloud stand-ins are test tooling; the product never imports them.',
      from: { path: `${productSource}|^bench/` },
      to: { path: '^shared/gcp-standins/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { pathNot: '\\.generated\\.ts$' } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|\\.mlops)/' },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      // @mlops/source: the workspaces' TypeScript sources (their default export is the built dist/).
      conditionNames: ['@mlops/source', 'import', 'require', 'node', 'default', 'types'],
    },
  },
};
