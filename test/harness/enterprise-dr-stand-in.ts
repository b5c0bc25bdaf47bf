// STAND-IN for a Vault Enterprise DR replication pair. No Enterprise server can run on these
// machines (no licence, no binary), so this answers the calls vaultops makes during a
// DR-replication failover the way the API documentation describes them, and nothing more:
//   https://developer.hashicorp.com/vault/api-docs/system/replication/replication-dr
//     (status; primary/demote; primary/secondary-token -> wrap_info.token; secondary/promote and
//      secondary/update-primary, each authorised by `dr_operation_token` in the body)
//   https://developer.hashicorp.com/vault/docs/enterprise/replication/disaster-recovery/operation-token
//   https://developer.hashicorp.com/vault/api-docs/system/health (replication_dr_mode; 472 for a
//     DR secondary unless drsecondarycode is given), .../system/seal-status,
//   .../auth/token#lookup-a-token-self and .../secret/kv/kv-v2#create-update-secret (the switch
//     writes the current-primary record; a promoted secondary honours the primary's tokens).
// Two clusters of one node each, "primary" and "secondary", on 127.0.0.1 with ports of their own.
// What Vault does between the calls (WAL streaming, merkle sync) is not modelled: a promoted
// secondary simply holds what the primary held. Where the documentation gives no error text
// (a wrong DR operation token, a call a DR secondary does not serve), the messages are this
// stand-in's own, in Vault's {"errors": [...]} shape. Every request is recorded (method, path,
// status, and whether a Vault token header or a dr_operation_token was sent; never a value), so
// tests can assert the order of calls and where a token went.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInName = 'primary' | 'secondary';

export interface RecordedRequest {
  cluster: StandInName;
  method: string;
  /** Without the query string. */
  path: string;
  status: number;
  /** An X-Vault-Token header was sent. */
  vaultToken: boolean;
  /** The body held a `dr_operation_token` field. */
  drOperationToken: boolean;
  /** The body's field names (never their values). */
  bodyKeys: string[];
}

export interface StandInClusterState {
  mode: 'primary' | 'secondary' | 'disabled';
  sealed: boolean;
  /** A secondary's primary API address; null when it follows none (after a demotion). */
  primaryApiAddr: string | null;
  knownSecondaries: string[];
  /** KV v2 versions written through the stand-in, by path under secret/. */
  kv: Map<string, number>;
}

export interface StandInCluster {
  name: StandInName;
  address: string;
  state: StandInClusterState;
  /** Stops answering (connections refused), keeping its state; start() answers again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface EnterpriseDrStandIn {
  primary: StandInCluster;
  secondary: StandInCluster;
  /** The primary's root token; replicated, so the secondary honours it once promoted. */
  rootToken: string;
  /** The DR operation batch token made on the primary (replicated: valid on both). */
  drOperationToken: string;
  requests: RecordedRequest[];
  /** Every secondary activation token issued, for a test to look for in histories. */
  issuedActivationTokens: string[];
  close(): Promise<void>;
}

const VERSION = '1.19.0+ent';

export async function startEnterpriseDrStandIn(): Promise<EnterpriseDrStandIn> {
  const clusterId = randomUUID();
  const rootToken = `hvs.${randomBytes(18).toString('base64url')}`;
  const drOperationToken = `hvb.${randomBytes(24).toString('base64url')}`;
  /** Secondary activation tokens issued, by token: the id they were issued for, and by whom. */
  const activation = new Map<string, { id: string; issuer: StandInName }>();
  const requests: RecordedRequest[] = [];
  const issuedActivationTokens: string[] = [];
  const clusters = {} as Record<StandInName, StandInCluster>;

  const make = async (name: StandInName, mode: 'primary' | 'secondary'): Promise<StandInCluster> => {
    const state: StandInClusterState = {
      mode,
      sealed: false,
      primaryApiAddr: null,
      knownSecondaries: [],
      kv: new Map(),
    };
    const server: Server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => {
        raw += String(c);
      });
      req.on('end', () => {
        let body: Record<string, unknown> = {};
        try {
          body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
        } catch {
          body = {};
        }
        const answer = (status: number, json?: unknown) => {
          requests.push({
            cluster: name,
            method: req.method ?? '',
            path: (req.url ?? '').split('?')[0] ?? '',
            status,
            vaultToken: typeof req.headers['x-vault-token'] === 'string',
            drOperationToken: 'dr_operation_token' in body,
            bodyKeys: Object.keys(body).sort(),
          });
          if (json === undefined) res.writeHead(status).end();
          else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
        };
        handle(name, state, req, body, answer);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const cluster: StandInCluster = {
      name,
      address: `http://127.0.0.1:${port}`,
      state,
      stop: () =>
        new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
      start: () => new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve())),
    };
    return cluster;
  };

  const errors = (...messages: string[]) => ({ errors: messages });
  const authorised = (req: IncomingMessage) => req.headers['x-vault-token'] === rootToken;

  function handle(
    name: StandInName,
    state: StandInClusterState,
    req: IncomingMessage,
    body: Record<string, unknown>,
    answer: (status: number, json?: unknown) => void,
  ) {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const write = method === 'POST' || method === 'PUT';
    const other = clusters[name === 'primary' ? 'secondary' : 'primary'];

    if (path === '/v1/sys/health') {
      const code = (param: string, fallback: number) => Number(url.searchParams.get(param) ?? fallback);
      const status = state.sealed
        ? code('sealedcode', 503)
        : state.mode === 'secondary'
          ? code('drsecondarycode', 472)
          : 200;
      return answer(status, {
        initialized: true,
        sealed: state.sealed,
        standby: false,
        performance_standby: false,
        replication_performance_mode: 'disabled',
        replication_dr_mode: state.mode,
        server_time_utc: Math.floor(Date.now() / 1000),
        version: VERSION,
        enterprise: true,
        cluster_name: `vault-cluster-${name}`,
        cluster_id: clusterId,
      });
    }
    if (path === '/v1/sys/seal-status')
      return answer(200, {
        type: 'shamir',
        initialized: true,
        sealed: state.sealed,
        t: 3,
        n: 5,
        progress: 0,
        nonce: '',
        version: VERSION,
        build_date: '2025-01-01T00:00:00Z',
        migration: false,
        recovery_seal: false,
        storage_type: 'raft',
        ...(state.sealed ? {} : { cluster_name: `vault-cluster-${name}`, cluster_id: clusterId }),
      });
    if (state.sealed) return answer(503, errors('Vault is sealed'));

    if (path === '/v1/sys/replication/dr/status' && method === 'GET') {
      const data =
        state.mode === 'primary'
          ? {
              cluster_id: clusterId,
              known_secondaries: state.knownSecondaries,
              last_wal: 241,
              merkle_root: '56794a98e52598f35974024fba6691f047e772e9',
              mode: 'primary',
              primary_cluster_addr: '',
              secondaries: state.knownSecondaries.map((id) => ({
                api_address: other.address,
                cluster_address: other.address.replace('http:', 'https:'),
                connection_status: 'connected',
                last_heartbeat: new Date().toISOString(),
                node_id: id,
              })),
              state: 'running',
            }
          : state.mode === 'secondary'
            ? {
                cluster_id: clusterId,
                known_primary_cluster_addrs: state.primaryApiAddr ? [state.primaryApiAddr] : [],
                last_remote_wal: 241,
                merkle_root: '56794a98e52598f35974024fba6691f047e772e9',
                mode: 'secondary',
                primaries: state.primaryApiAddr
                  ? [
                      {
                        api_address: state.primaryApiAddr,
                        cluster_address: '',
                        connection_status: 'connected',
                      },
                    ]
                  : [],
                primary_cluster_addr: '',
                secondary_id: name,
                state: state.primaryApiAddr ? 'stream-wals' : 'idle',
              }
            : { mode: 'disabled' };
      return answer(200, { data });
    }

    if (path === '/v1/sys/replication/dr/primary/demote' && write) {
      if (!authorised(req)) return answer(403, errors('permission denied'));
      if (state.mode !== 'primary')
        return answer(400, errors('DR replication is not enabled as a primary on this cluster'));
      Object.assign(state, { mode: 'secondary', primaryApiAddr: null, knownSecondaries: [] });
      return answer(204);
    }

    if (path === '/v1/sys/replication/dr/primary/secondary-token' && write) {
      if (!authorised(req)) return answer(403, errors('permission denied'));
      if (state.mode !== 'primary') return answer(400, errors('this cluster is not a DR primary'));
      const id = String(body.id ?? '');
      if (id === '') return answer(400, errors('missing "id"'));
      if (state.knownSecondaries.includes(id))
        return answer(400, errors(`a secondary with id "${id}" exists already`));
      const token = `hvs.${randomBytes(18).toString('base64url')}`;
      activation.set(token, { id, issuer: name });
      issuedActivationTokens.push(token);
      return answer(200, {
        request_id: randomUUID(),
        lease_id: '',
        lease_duration: 0,
        renewable: false,
        data: null,
        warnings: null,
        wrap_info: { token, ttl: 1800, creation_time: new Date().toISOString(), wrapped_accessor: '' },
      });
    }

    if (path === '/v1/sys/replication/dr/secondary/promote' && write) {
      if (body.dr_operation_token !== drOperationToken)
        return answer(400, errors('invalid DR operation token (stand-in wording)'));
      if (state.mode !== 'secondary') return answer(400, errors('this cluster is not a DR secondary'));
      Object.assign(state, { mode: 'primary', primaryApiAddr: null, knownSecondaries: [] });
      return answer(200, {
        request_id: randomUUID(),
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: null,
        wrap_info: null,
        warnings: null,
        auth: null,
      });
    }

    if (path === '/v1/sys/replication/dr/secondary/update-primary' && write) {
      if (body.dr_operation_token !== drOperationToken)
        return answer(400, errors('invalid DR operation token (stand-in wording)'));
      if (state.mode !== 'secondary') return answer(400, errors('this cluster is not a DR secondary'));
      const issued = activation.get(String(body.token ?? ''));
      const issuer = issued ? clusters[issued.issuer] : undefined;
      if (!issued || !issuer || issuer.state.mode !== 'primary')
        return answer(400, errors('error response unwrapping secondary token; status code is 400'));
      activation.delete(String(body.token));
      state.primaryApiAddr =
        typeof body.primary_api_addr === 'string' ? body.primary_api_addr : issuer.address;
      issuer.state.knownSecondaries.push(issued.id);
      return answer(204);
    }

    // Everything else is served by a primary only, to the primary's (replicated) token.
    if (state.mode === 'secondary')
      return answer(400, errors('request not served by a DR secondary (stand-in wording)'));
    if (!authorised(req)) return answer(403, errors('permission denied'));
    if (path === '/v1/auth/token/lookup-self' && method === 'GET')
      return answer(200, {
        data: { accessor: 'stand-in-accessor', policies: ['root'], ttl: 0, type: 'service', orphan: true },
      });
    const kv = /^\/v1\/secret\/data\/(.+)$/.exec(path);
    if (kv && write) {
      const key = kv[1] as string;
      const version = (state.kv.get(key) ?? 0) + 1;
      state.kv.set(key, version);
      return answer(200, {
        data: {
          created_time: new Date().toISOString(),
          custom_metadata: null,
          deletion_time: '',
          destroyed: false,
          version,
        },
      });
    }
    return answer(404, errors());
  }

  clusters.primary = await make('primary', 'primary');
  clusters.secondary = await make('secondary', 'secondary');
  clusters.secondary.state.primaryApiAddr = clusters.primary.address;
  clusters.primary.state.knownSecondaries.push('secondary');

  return {
    primary: clusters.primary,
    secondary: clusters.secondary,
    rootToken,
    drOperationToken,
    requests,
    issuedActivationTokens,
    close: async () => {
      await Promise.all(Object.values(clusters).map((c) => c.stop().catch(() => undefined)));
    },
  };
}

/** What a test usually asserts: "cluster METHOD path status", in order. */
export const requestLine = (r: RecordedRequest): string => `${r.cluster} ${r.method} ${r.path} ${r.status}`;
