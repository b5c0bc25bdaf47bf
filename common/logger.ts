// One structured logger for the worker and CLI. Secrets never reach it: callers log references.
import pino from 'pino';

export const logger = pino({
  name: 'vaultops',
  level: process.env.VAULTOPS_LOG_LEVEL ?? 'info',
  // Defence in depth: should a token or PIN ever end up in a logged object, it is masked.
  redact: {
    paths: [
      'token',
      '*.token',
      'secret_id',
      '*.secret_id',
      'pin',
      '*.pin',
      'userPin',
      '*.userPin',
      'rootToken',
    ],
    censor: '[redacted]',
  },
});
