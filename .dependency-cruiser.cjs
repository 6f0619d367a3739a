/**
 * Architecture boundaries, checked by a tool rather than by hope (see STYLE.md):
 * - a service imports shared/ and never another service;
 * - a service never reaches into a deep path of shared/ (only @mlops/shared and @mlops/shared/testing);
 * - only adapters import cloud SDKs, DuckDB or SQLite;
 * - ports import no adapters;
 * - the Google Cloud stand-ins are test tooling: only tests (and the stand-ins themselves) import them.
 */
const sdk = 'node_modules/(@google-cloud/|@duckdb/|better-sqlite3|@polyglot-sql/|@dataform/)';
module.exports = {
  forbidden: [
    {
      name: 'service-imports-other-service',
      severity: 'error',
      comment: 'A service imports shared/ and never another service.',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/([^/]+)/', pathNot: '^services/$1/' },
    },
    {
      name: 'deep-import-of-shared',
      severity: 'error',
      comment: 'Import @mlops/shared (or @mlops/shared/testing in tests), never a file inside shared/.',
      from: { path: '^(services|cli|bench)/' },
      to: { path: '^shared/src/', pathNot: '^shared/src/(index|testing|gcp)\\.ts$' },
    },
    {
      name: 'sdk-outside-adapters',
      severity: 'error',
      comment: 'Only adapters touch SDKs and engines.',
      from: { path: '^(shared/src|services/[^/]+/src|cli/src)/', pathNot: '(/adapters/|\\.adapter\\.ts$)' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], path: sdk },
    },
    {
      name: 'port-imports-adapter',
      severity: 'error',
      comment: 'Ports are interfaces; they never know their adapters.',
      from: { path: '\\.port\\.ts$' },
      to: { path: '(/adapters/|\\.adapter\\.ts$)' },
    },
    {
      name: 'product-imports-standins',
      severity: 'error',
      comment: 'The Google Cloud stand-ins are test tooling; the product never imports them.',
      from: { path: '^(shared/src|services/[^/]+/src|cli/src|bench)/' },
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
