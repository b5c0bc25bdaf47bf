// Every activity the worker registers, built from injected clients.
import { createPreflightActivities, type PreflightDeps } from './preflight.js';

export type ActivityDeps = PreflightDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPreflightActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
