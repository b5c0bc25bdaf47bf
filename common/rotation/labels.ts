// The rotation labels: which KV v2 version of a secret is current, which previous, which pending,
// and which rotation holds the secret, recorded in the secret's custom_metadata so any client can
// find each one. Pure (no I/O), so workflows, activities and the CLI can all use it.
//
// Layout: `<path>` holds only tested credentials; its latest version is always the current one,
// so a client reading the path the usual way never sees an untested credential. The pending
// credential lives at the sibling `<path>.pending` until it is tested; promotion writes it as the
// next version of `<path>` (check-and-set) and deletes the sibling. `vaultops_pending` is the
// version at the sibling path.

export const ROTATION_LABELS = {
  current: 'vaultops_current',
  pending: 'vaultops_pending',
  previous: 'vaultops_previous',
  rotation: 'vaultops_rotation',
  state: 'vaultops_rotation_state',
} as const;

export const ROTATION_STATES = [
  'locked',
  'pending',
  'set',
  'tested',
  'promoted',
  'retired',
  'rolled-back',
] as const;
export type RotationState = (typeof ROTATION_STATES)[number];

export interface RotationLabels {
  current?: number | undefined;
  pending?: number | undefined;
  previous?: number | undefined;
  /** The rotation (its id) that holds the secret; unset when none does. */
  rotation?: string | undefined;
  state?: RotationState | undefined;
}

/** The failure type of a secret another rotation holds. */
export const ROTATION_IN_PROGRESS = 'RotationInProgress';
/** The failure type of malformed labels in a secret's custom_metadata. */
export const ROTATION_BAD_LABELS = 'RotationBadLabels';

const ROTATION_ID = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$/;

export class RotationLabelError extends Error {
  override name = ROTATION_BAD_LABELS;
}

function parseVersion(key: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(value)) {
    throw new RotationLabelError(
      `custom_metadata ${key}=${JSON.stringify(value)} is not a KV version number`,
    );
  }
  return Number(value);
}

/** Reads the labels from a secret's custom_metadata (other keys are ignored); malformed ones throw. */
export function parseRotationLabels(
  custom: Readonly<Record<string, string>> | null | undefined,
): RotationLabels {
  const m = custom ?? {};
  const labels: RotationLabels = {};
  const current = parseVersion(ROTATION_LABELS.current, m[ROTATION_LABELS.current]);
  const pending = parseVersion(ROTATION_LABELS.pending, m[ROTATION_LABELS.pending]);
  const previous = parseVersion(ROTATION_LABELS.previous, m[ROTATION_LABELS.previous]);
  if (current !== undefined) labels.current = current;
  if (pending !== undefined) labels.pending = pending;
  if (previous !== undefined) labels.previous = previous;
  const rotation = m[ROTATION_LABELS.rotation];
  if (rotation !== undefined && rotation !== '') {
    if (!isRotationId(rotation)) {
      throw new RotationLabelError(`custom_metadata ${ROTATION_LABELS.rotation} is not a rotation id`);
    }
    labels.rotation = rotation;
  }
  const state = m[ROTATION_LABELS.state];
  if (state !== undefined && state !== '') {
    if (!(ROTATION_STATES as readonly string[]).includes(state)) {
      throw new RotationLabelError(
        `custom_metadata ${ROTATION_LABELS.state}=${JSON.stringify(state)} is not one of ${ROTATION_STATES.join(', ')}`,
      );
    }
    labels.state = state as RotationState;
  }
  if (current !== undefined && previous !== undefined && previous >= current) {
    throw new RotationLabelError(
      `custom_metadata names previous version ${previous} at or after current ${current}`,
    );
  }
  return labels;
}

/**
 * The custom_metadata to write: `existing` with its rotation keys replaced by `labels` (unset
 * labels are removed; other keys are kept, since a metadata write replaces the whole map).
 */
export function formatRotationLabels(
  labels: RotationLabels,
  existing: Readonly<Record<string, string>> | null | undefined = {},
): Record<string, string> {
  const keys = new Set<string>(Object.values(ROTATION_LABELS));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(existing ?? {})) if (!keys.has(k)) out[k] = v;
  for (const key of ['current', 'pending', 'previous'] as const) {
    const v = labels[key];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1)
      throw new RotationLabelError(`${key} version ${v} is not a KV version`);
    out[ROTATION_LABELS[key]] = String(v);
  }
  if (labels.rotation !== undefined) {
    if (!isRotationId(labels.rotation)) throw new RotationLabelError('not a rotation id');
    out[ROTATION_LABELS.rotation] = labels.rotation;
  }
  if (labels.state !== undefined) out[ROTATION_LABELS.state] = labels.state;
  return out;
}

export function isRotationId(id: string): boolean {
  return ROTATION_ID.test(id);
}

/** Where the pending credential of `path` waits until it is tested. */
export function pendingPath(path: string): string {
  return `${path.replace(/\/+$/, '')}.pending`;
}

/** The two accounts of the alternating-users strategy. */
export function alternatingRoles(base: string): [string, string] {
  return [`${base}_a`, `${base}_b`];
}

/** The idle account to rotate next: the one of the pair that the current credential does not use. */
export function idleRole(base: string, currentUser: string | undefined): string {
  const [a, b] = alternatingRoles(base);
  return currentUser === a ? b : a;
}
