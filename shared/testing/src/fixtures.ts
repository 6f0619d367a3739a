/**
 * @mlops/testing/fixtures: warehouses and operations records built for the dashboard's tests and
 * benchmarks (a gold warehouse of a synthetic world, a run ledger and model registry around it).
 */
export * from './dashboard/gold-warehouse.fixture.js';
export * from './dashboard/operations.fixture.js';
