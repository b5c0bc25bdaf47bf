// What a rotation target does with a credential. A new target is one file implementing this
// interface, plus its case in `targetFor` (target-for.ts). Credentials are the KV data of a
// version (e.g. `{ username, password }`); they stay inside the activity that read them.

export type Credential = Record<string, unknown>;

/** A database session still logged in with a credential: facts to show a human, never secrets. */
export interface LiveSession {
  pid: number;
  user: string;
  application: string;
  client: string;
  since: string;
}

export type RotationStrategy = 'single-user' | 'alternating';

export interface RotationTarget {
  /** The pending credential's data: `current` (null when the secret is new) with a fresh `password`. */
  next(current: Credential | null, password: string): Credential;
  /** Puts `pending` in force on the target (idempotent: sets given values). */
  set(pending: Credential, current: Credential | null): Promise<void>;
  /** Proves `pending` works (a real login); throws when it does not. */
  test(pending: Credential): Promise<void>;
  /** After the grace period: `previous` is no longer needed. */
  retire(previous: Credential, current: Credential): Promise<void>;
  /** Puts `previous` back in force (rollback); `failed` is the credential being abandoned. */
  revert(previous: Credential | null, failed: Credential): Promise<void>;
  /** Live sessions logged in with `credential` (retirement waits while there are any). */
  sessionsUsing(credential: Credential, current: Credential): Promise<LiveSession[]>;
  /** Releases connections the target holds. */
  close(): Promise<void>;
}
