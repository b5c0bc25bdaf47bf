// The workflow bundle's entry: every workflow the worker runs.

export { breakGlassWorkflow } from './break-glass/break-glass.js';
export { caBootstrapWorkflow } from './ca/bootstrap.js';
export { caInitRootWorkflow } from './ca/init-root.js';
export { caRotationWorkflow } from './ca/rotation.js';
export { certificateWorkflow } from './cert/certificate.js';
export { drDrillWorkflow } from './dr/drill.js';
export { drFailbackWorkflow } from './dr/failback.js';
export { drFailoverWorkflow } from './dr/failover.js';
export { drProtectWorkflow } from './dr/protect.js';
export { drReplicationFailoverWorkflow } from './dr/replication-failover.js';
export { leaseKeeperWorkflow } from './lease/keeper.js';
export { migrateWorkflow } from './migrate/migrate.js';
export { preflightWorkflow } from './preflight/preflight.js';
export { secretRotationWorkflow } from './rotation/secret-rotation.js';
export { sealGuardWorkflow } from './seal/guard.js';
