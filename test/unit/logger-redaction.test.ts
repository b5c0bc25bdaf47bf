// What the logger writes, captured at trace level: secret-named fields at any depth, token- and
// private-key-shaped strings anywhere (messages, format arguments, errors, child bindings).
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CENSOR, createLogger, isSecretField, maskSecretValues } from '../../common/logger.js';

function captured() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ level: 'trace', destination });
  return { log, text: () => lines.join(''), records: () => lines.map((l) => JSON.parse(l)) };
}

const HVS = `hvs.${'CAESIJ7kq2'.repeat(9)}`;
const OPENBAO_S = 's.Qf1sWbWQ9fM7vJ2yZxKpL0aB';
const OPENBAO_B = `b.${'AAAAAQ3xYz9'.repeat(4)}`;
// A real private key, made for this run: no key material is kept in the repository.
const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'sec1', format: 'pem' })
  .toString()
  .trim();
/** The key material itself, which must appear nowhere in the log. */
const PEM_BODY = PEM.split('\n')[1] as string;

describe('logger redaction', () => {
  it('masks secret-named fields at any depth, whatever their case and spelling', () => {
    const { log, text, records } = captured();
    log.trace(
      {
        vault: {
          request: { body: { role_id: 'role-1', secret_id: 'sid-deep-1', password: 'pw-deep-1' } },
          response: {
            auth: { client_token: 'ct-deep-1', accessor: 'acc-1' },
            data: { keys: ['share-1', 'share-2'], keys_base64: ['share-b64'], root_token: 'root-1' },
          },
        },
        hsm: { userPin: 'up-1', so_pin: 'so-1', PIN: 'p-1' },
        transit: [{ plaintext: 'cGxhaW4tMQ==' }, { plaintext: 'cGxhaW4tMg==' }],
        unseal: { key: 'unseal-1', shares: 5, unseal_keys_b64: ['u-b64'] },
        headers: { 'X-Vault-Token': 'hdr-1', Authorization: 'Bearer jwt-1' },
        jwt: 'eyJhbGciOi.payload.sig',
        private_key: 'pk-1',
        hmac_key: 'hk-1',
      },
      'nested',
    );
    const out = text();
    for (const secret of [
      'sid-deep-1',
      'pw-deep-1',
      'ct-deep-1',
      'share-1',
      'share-b64',
      'root-1',
      'up-1',
      'so-1',
      'p-1',
      'cGxhaW4t',
      'unseal-1',
      'u-b64',
      'hdr-1',
      'jwt-1',
      'eyJhbGciOi',
      'pk-1',
      'hk-1',
    ]) {
      expect(out, secret).not.toContain(secret);
    }
    const [record] = records();
    // References stay readable: that is what logs are for.
    expect(record.vault.request.body.role_id).toBe('role-1');
    expect(record.vault.response.auth.accessor).toBe('acc-1');
    expect(record.vault.response.auth.client_token).toBe(CENSOR);
    expect(record.transit[1].plaintext).toBe(CENSOR);
  });

  it('masks token-shaped values and PEM private keys in any string, field or message', () => {
    const { log, text, records } = captured();
    log.debug({ note: `header was ${HVS}`, list: [`x ${OPENBAO_S} y`], body: PEM }, `got ${OPENBAO_B}`);
    log.info('format %s and %o', HVS, { deep: { text: OPENBAO_S } });
    const out = text();
    for (const secret of [HVS, OPENBAO_S, OPENBAO_B, PEM_BODY]) expect(out).not.toContain(secret);
    const [first] = records();
    expect(first.note).toBe(`header was ${CENSOR}`);
    expect(first.body).toBe(`${CENSOR} private key`);
  });

  it('masks secrets in errors: message, stack, own fields and causes', () => {
    const { log, text, records } = captured();
    const cause = Object.assign(new Error(`lookup failed for ${OPENBAO_S}`), { token: 'cause-tok-1' });
    const err = Object.assign(new Error(`permission denied for ${HVS}`, { cause }), {
      response: { body: { client_token: 'err-tok-1' } },
    });
    log.error({ err }, 'request failed');
    log.error(err); // no message: pino would take err.message as the message
    log.warn({ err: new Error(`x ${OPENBAO_B}`) });
    const out = text();
    for (const secret of [HVS, OPENBAO_S, OPENBAO_B, 'cause-tok-1', 'err-tok-1']) {
      expect(out, secret).not.toContain(secret);
    }
    const [first, second] = records();
    expect(first.err.message).toBe(`permission denied for ${CENSOR}`);
    expect(first.err.type).toBe('Error');
    expect(first.err.stack).toContain('logger-redaction.test.ts');
    expect(second.msg).toBe(`permission denied for ${CENSOR}`);
  });

  it('masks secrets bound to child loggers', () => {
    const { log, text } = captured();
    log.child({ session: { token: 'child-tok-1' }, who: HVS }).info('hello');
    expect(text()).not.toContain('child-tok-1');
    expect(text()).not.toContain(HVS);
    expect(text()).toContain('hello');
  });

  it('survives cycles and leaves ordinary values alone', () => {
    const { log, records } = captured();
    const a: Record<string, unknown> = {
      path: 'secret/data/app',
      version: 3,
      items: 'items.abcdefghijklmnopqrstuvwxyz',
    };
    a.self = a;
    log.info(a, 'cyclic');
    const [record] = records();
    expect(record.path).toBe('secret/data/app');
    expect(record.version).toBe(3);
    expect(record.items).toBe('items.abcdefghijklmnopqrstuvwxyz'); // not a token: glued to a word
    expect(record.self).toBe('[Circular]');
  });

  it('classifies field names and token shapes', () => {
    for (const name of [
      'client_token',
      'X-Vault-Token',
      'userPin',
      'SO_PIN',
      'secret_id',
      'db_password',
      'keys_base64',
    ])
      expect(isSecretField(name), name).toBe(true);
    for (const name of ['accessor', 'path', 'ttlSeconds', 'policies', 'role_id', 'mount_path', 'method'])
      expect(isSecretField(name), name).toBe(false);
    expect(maskSecretValues('s.short')).toBe('s.short'); // too short to be a token
    expect(maskSecretValues('postgresql://app:pa55@db:5432/app?x=1')).toBe(
      `postgresql://app:${CENSOR}@db:5432/app?x=1`,
    );
    expect(maskSecretValues('mail me@example.com')).toBe('mail me@example.com');
    expect(maskSecretValues(`(${HVS})`)).toBe(`(${CENSOR})`);
  });
});
