// Connection configs are validated before Vault sees them; Cassandra and MongoDB only this way,
// as neither server can run on these machines.
import { describe, expect, it } from 'vitest';
import { connectionBody, connectionSchema } from '../../vault/database.js';

const base = { name: 'orders', allowed_roles: ['orders-ro'], username: 'vault', password: 'pw' };

function problems(input: unknown): string[] {
  const r = connectionSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('database connection configs', () => {
  it('builds a Cassandra config with its defaults', () => {
    const { name, body } = connectionBody({ ...base, plugin: 'cassandra', hosts: ['10.0.0.1', '10.0.0.2'] });
    expect(name).toBe('orders');
    expect(body).toMatchObject({
      plugin_name: 'cassandra-database-plugin',
      hosts: '10.0.0.1,10.0.0.2',
      port: 9042,
      protocol_version: 4,
      consistency: 'LOCAL_QUORUM',
      allowed_roles: 'orders-ro',
    });
  });

  it('rejects a Cassandra config without hosts or with a bad protocol version', () => {
    expect(problems({ ...base, plugin: 'cassandra', hosts: [], protocol_version: 9 })).toEqual([
      'hosts: list at least one Cassandra host',
      'protocol_version: Too big: expected number to be <=5',
    ]);
  });

  it('builds a MongoDB config and insists on a templated URL', () => {
    const url = 'mongodb://{{username}}:{{password}}@mongo.example.com:27017/admin?tls=true';
    expect(connectionBody({ ...base, plugin: 'mongodb', connection_url: url }).body).toMatchObject({
      plugin_name: 'mongodb-database-plugin',
      connection_url: url,
    });
    expect(
      problems({ ...base, plugin: 'mongodb', connection_url: 'mongodb://vault:pw@mongo:27017/admin' }),
    ).toEqual([
      'connection_url: must contain {{username}} and {{password}} so Vault can rotate the credentials it holds',
    ]);
  });

  it('checks the shape of PostgreSQL URLs and MySQL DSNs', () => {
    expect(
      problems({ ...base, plugin: 'postgresql', connection_url: 'mysql://{{username}}:{{password}}@x/' }),
    ).toEqual(['connection_url: must start with postgresql://']);
    expect(
      problems({ ...base, plugin: 'mysql', connection_url: '{{username}}:{{password}}@db:3306/' }),
    ).toEqual(['connection_url: must look like {{username}}:{{password}}@tcp(host:3306)/']);
    expect(problems({ ...base, plugin: 'oracle' })[0]).toBe(
      'plugin: plugin must be one of: postgresql, mysql, cassandra, mongodb',
    );
  });
});
