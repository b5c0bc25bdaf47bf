// What every database-account target shares: the strategies. Single user changes the one
// account's password; alternating users set the new password on the idle one of `<role>_a` /
// `<role>_b`, so both log in through the grace period, and retirement then gives the previous
// account a random password nobody keeps. A database supplies only a driver: how to set an
// account's password, log in as it, and list its sessions.
import { randomBytes } from 'node:crypto';
import { alternatingRoles, idleRole } from '../../common/rotation/labels.js';
import type { Credential, LiveSession, RotationStrategy, RotationTarget } from './target.js';

export interface AccountDriver {
  /** The account a credential names (its `username`), checked; a bad one throws RotationBadTarget. */
  userOf(credential: Credential): string;
  setPassword(user: string, password: string): Promise<void>;
  /** Logs in as `user` and checks the server says so; throws when it does not work. */
  login(user: string, password: string): Promise<void>;
  /** Sessions logged in as `user`, other than the driver's own. */
  sessionsOf(user: string): Promise<LiveSession[]>;
  close(): Promise<void>;
}

export function accountTarget(
  strategy: RotationStrategy,
  role: string,
  driver: AccountDriver,
): RotationTarget {
  const { userOf } = driver;
  return {
    next(current, password) {
      const username =
        strategy === 'alternating'
          ? idleRole(role, typeof current?.username === 'string' ? current.username : undefined)
          : role;
      return { ...(current ?? {}), username, password };
    },
    async set(pending) {
      await driver.setPassword(userOf(pending), String(pending.password));
    },
    async test(pending) {
      await driver.login(userOf(pending), String(pending.password));
    },
    // Alternating: the previous account's password must stop working after the grace period.
    // Only an account of the pair: one outside it (the secret's account before its first
    // alternating rotation) was never vaultops' to lock out. Single user: replaced at set.
    async retire(previous, current) {
      if (strategy !== 'alternating') return;
      const user = userOf(previous);
      if (user === current.username || !alternatingRoles(role).includes(user)) return;
      await driver.setPassword(user, randomBytes(32).toString('base64url'));
    },
    async revert(previous, failed) {
      // Alternating: the failed credential's account is the idle one, which no client uses; the
      // current account was never touched. Single user: put the previous password back.
      if (strategy === 'single-user' && previous && typeof previous.password === 'string') {
        await driver.setPassword(userOf(previous), previous.password);
      } else if (strategy === 'single-user' && !previous) {
        userOf(failed); // a new secret: there is no earlier password to restore
      }
    },
    async sessionsUsing(credential, current) {
      const user = userOf(credential);
      // Single user: old and new credentials share the account, and sessions cannot be told apart.
      if (strategy === 'single-user' || user === current.username) return [];
      return driver.sessionsOf(user);
    },
    close: () => driver.close(),
  };
}
