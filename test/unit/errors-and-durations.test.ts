import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../common/durations.js';
import { classifyResponse, cleanVaultMessages, VaultErrorType, vaultFailure } from '../../vault/errors.js';

describe('classifyResponse', () => {
  it.each([
    [503, ['Vault is sealed'], VaultErrorType.Sealed],
    [503, ['upstream connect error'], VaultErrorType.Unavailable],
    [500, ['internal error'], VaultErrorType.Unavailable],
    [403, ['1 error occurred:\n\t* permission denied\n\n'], VaultErrorType.PermissionDenied],
    [404, [], VaultErrorType.NotFound],
    [429, ['request path "kv/": rate limit quota exceeded'], VaultErrorType.RateLimited],
    [400, ['check-and-set parameter did not match the current version'], VaultErrorType.CasMismatch],
    [400, ['check-and-set parameter required for this call'], VaultErrorType.InvalidRequest],
    [400, ['missing client token'], VaultErrorType.InvalidRequest],
  ])('HTTP %i %j is %s', (status, errors, type) => {
    expect(classifyResponse(status, errors)).toBe(type);
  });

  it('marks only sealed, unavailable and rate-limited as retryable', () => {
    const details = { method: 'GET', path: 'x', status: 500, namespace: null };
    const retryable = Object.values(VaultErrorType).filter(
      (t) => !vaultFailure(t, 'm', details).nonRetryable,
    );
    expect(retryable.sort()).toEqual(
      [VaultErrorType.RateLimited, VaultErrorType.Sealed, VaultErrorType.Unavailable].sort(),
    );
  });

  it('strips the multierror wrapping from Vault messages', () => {
    expect(cleanVaultMessages(['1 error occurred:\n\t* permission denied\n\n'])).toBe('permission denied');
  });
});

describe('durations', () => {
  it.each([
    ['1s', 1000],
    ['30s', 30_000],
    ['5m', 300_000],
    ['720h', 2_592_000_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['90', 90_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '5 minutes', '1x', 's5'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats back to the largest whole unit', () => {
    expect(formatDuration(2_592_000_000)).toBe('720h');
    expect(formatDuration(90_000)).toBe('90s');
  });
});
