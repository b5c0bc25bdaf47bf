// The workflow bundle's entry: every workflow the worker runs.
export { breakGlassWorkflow } from './break-glass.js';
export { caBootstrapWorkflow } from './ca-bootstrap.js';
export { caInitRootWorkflow } from './ca-init-root.js';
export { caRotationWorkflow } from './ca-rotation.js';
export { certificateWorkflow } from './certificate.js';
export { drDrillWorkflow } from './dr-drill.js';
export { drFailbackWorkflow } from './dr-failback.js';
export { drFailoverWorkflow } from './dr-failover.js';
export { drProtectWorkflow } from './dr-protect.js';
export { drReplicationFailoverWorkflow } from './dr-replication-failover.js';
export { approvedChangeWorkflow } from './examples/approved-change.js';
export { orderedWritesWorkflow } from './examples/ordered-writes.js';
export { leaseKeeperWorkflow } from './lease-keeper.js';
export { migrateWorkflow } from './migrate.js';
export { preflightWorkflow } from './preflight.js';
export { sealGuardWorkflow } from './seal-guard.js';
export { secretRotationWorkflow } from './secret-rotation.js';
