/**
 * The dashboard: historical, predictive and operations views over the gold layer, the run
 * ledger, the model registry and the bus. `main.ts` runs it as its own process; the CLI starts it
 * with {@link startDashboard}.
 */
export {
  createDashboardServer,
  DEFAULT_PUBLIC_DIR,
  type DashboardAddress,
  type DashboardDeps,
  type DashboardServer,
  type ListenOptions,
} from './server.js';
export { startDashboard, type RunningDashboard, type StartDashboardOptions } from './start.js';
export { assertBindable, isLoopbackAddress } from './bind.js';
export { DashboardError, DashboardErrors, DashboardStartErrors } from './errors.js';
export { VIEWS, type View } from './overview.routes.js';
export { CONTENT_SECURITY_POLICY } from './security.js';
/** The observer that fills the run ledger the operations view reads (hosted by `startDashboard`). */
export { createRunLedgerService, RunLedger } from '@mlops/kernel';
