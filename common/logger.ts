// One structured logger for the worker and CLI. Secrets never reach it: callers log references.
// Defence in depth, should one slip through anyway: every logged object is walked at any depth
// (pino's own `redact` matches fixed paths only) and a field named like a secret is masked
// whatever its value; in every string, values that look like Vault/OpenBao tokens or PEM private
// keys are masked whatever the field is called. Errors are walked too: their message and stack
// are strings like any other.
import pino, { type DestinationStream, type Logger } from 'pino';
import { humanLogLine, type SdkLogEntry, sdkLogRecord } from './log-lines.js';

export const CENSOR = '[redacted]';

/** Field names (lower-cased, without `_`, `-`, `.`) whose value is a secret, whatever it is. */
const SECRET_FIELDS = new Set([
  'token',
  'pin',
  'key',
  'keys',
  'keysbase64',
  'keyshex',
  'shares',
  'keyshares',
  'secret',
  'jwt',
  'plaintext',
  'password',
  'passwd',
  'passphrase',
  'privatekey',
  'secretid',
  'hmackey',
  'apikey',
  'secretkey',
  'signingkey',
  'encryptionkey',
  'unsealkey',
  'unsealkeys',
  'unsealkeysb64',
  'unsealkeyshex',
  'recoverykey',
  'recoverykeys',
  'recoverykeysb64',
  'recoverykeysbase64',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'otp',
]);

/** Endings that make a field secret too: client_token, X-Vault-Token, userPin, so_pin, db_password... */
const SECRET_SUFFIXES = ['token', 'password', 'passwd', 'secret', 'secretid', 'privatekey', 'pin', 'jwt'];

export function isSecretField(name: string): boolean {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_FIELDS.has(n) || SECRET_SUFFIXES.some((s) => n.endsWith(s));
}

// Vault service/batch/recovery tokens (hvs./hvb./hvr.) and the older and OpenBao forms (s./b./r.)
// followed by at least 20 token characters; not when glued to a word (items.s... is not a token).
const TOKEN_PATTERN = /(?<![A-Za-z0-9_.-])(?:hv[sbr]|[sbr])\.[A-Za-z0-9_-]{20,}/g;
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
// The password in a connection URL: postgres://user:password@host/db.
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@/?#\s]+@/gi;

/** Masks token-shaped values, PEM private key blocks and URL passwords anywhere in a string. */
export function maskSecretValues(text: string): string {
  if (!text.includes('.') && !text.includes('-----BEGIN') && !text.includes('@')) return text;
  return text
    .replace(PEM_PRIVATE_KEY, `${CENSOR} private key`)
    .replace(TOKEN_PATTERN, CENSOR)
    .replace(URL_PASSWORD, `$1${CENSOR}@`);
}

const MAX_DEPTH = 12;

/**
 * A copy of `value` fit to log: secret-named fields masked at any depth, secret-looking strings
 * masked everywhere, Errors turned into plain objects (type, message, stack, own fields, cause).
 */
export function redactSecrets(value: unknown): unknown {
  return walk(value, new Set(), 0);
}

function walk(value: unknown, ancestors: Set<object>, depth: number): unknown {
  if (typeof value === 'string') return maskSecretValues(value);
  if (value === null || typeof value !== 'object') return value;
  if (ancestors.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof Date) return value;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => walk(v, ancestors, depth + 1));
    if (value instanceof Error) return walkError(value, ancestors, depth);
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return walk(toJSON.call(value), ancestors, depth + 1);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isSecretField(k) && v !== undefined && v !== null ? CENSOR : walk(v, ancestors, depth + 1);
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

function walkError(err: Error, ancestors: Set<object>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: err.constructor?.name ?? err.name,
    message: maskSecretValues(err.message),
    stack: typeof err.stack === 'string' ? maskSecretValues(err.stack) : err.stack,
  };
  for (const [k, v] of Object.entries(err)) {
    out[k] = isSecretField(k) && v !== undefined && v !== null ? CENSOR : walk(v, ancestors, depth + 1);
  }
  if (err.cause !== undefined) out.cause = walk(err.cause, ancestors, depth + 1);
  return out;
}

let forHumans = false;

/**
 * Log lines for a person at a terminal from now on (`vaultops dev`, where the worker shares the
 * terminal with the stack's narration), instead of JSON for a log collector.
 */
export function logForHumans(): void {
  forHumans = true;
}

/** Stdout, as JSON lines or, after logForHumans(), readable ones (colour only on a terminal). */
const stdoutLines: DestinationStream = {
  write(line: string) {
    if (!forHumans) return process.stdout.write(line);
    const stacks = logger.levelVal <= 20; // debug or trace: the reader is after the details
    return process.stdout.write(humanLogLine(line, { colour: process.stdout.isTTY === true, stacks }));
  },
};

export interface LoggerOptions {
  level?: string;
  /** Where lines go (default stdout); tests capture them. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const config: pino.LoggerOptions = {
    name: 'vaultops',
    level: options.level ?? process.env.VAULTOPS_LOG_LEVEL ?? 'info',
    formatters: {
      log: (object) => redactSecrets(object) as Record<string, unknown>,
    },
    // redactSecrets has already made errors plain objects; pino's serializer would fold the
    // causes into the message and call the type "Object".
    serializers: { err: (err: unknown) => err },
    hooks: {
      // The message and its %s/%o arguments never pass through `formatters`, and for an Error
      // logged without a message pino takes the error's own message as the message.
      logMethod(args, method) {
        const [first, ...rest] = args as unknown[];
        const err = first instanceof Error ? first : (first as { err?: unknown } | null)?.err;
        if (typeof rest[0] !== 'string' && err instanceof Error) rest.unshift(err.message);
        const masked = rest.map((a) => (typeof a === 'string' ? maskSecretValues(a) : redactSecrets(a)));
        const firstMasked = typeof first === 'string' ? maskSecretValues(first) : first;
        return method.apply(this, [firstMasked, ...masked] as Parameters<typeof method>);
      },
    },
  };
  const root = pino(config, options.destination ?? stdoutLines);
  // pino applies `formatters.bindings` to the root's bindings only, not to logger.child(...)'s;
  // children inherit this method, so every generation's bindings are masked.
  const child = root.child;
  root.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, redactSecrets(bindings) as pino.Bindings, childOptions);
  } as typeof root.child;
  return root;
}

export const logger = createLogger();

const SDK_LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * The Temporal SDK's log entries (the worker runtime's `DefaultLogger` log function) into this
 * logger: masked like ours, one line each, and an activity failure as which activity failed, why
 * and its attempt, without the SDK's task token.
 */
export function sdkLogFunction(entry: SdkLogEntry): void {
  const { fields, message } = sdkLogRecord(entry);
  logger[SDK_LEVELS[entry.level as keyof typeof SDK_LEVELS] ?? 'info'](fields, message);
}
