// STAND-IN for the Kubernetes API: Vault's Kubernetes auth asks the cluster's TokenReview API
// whether a service account token is valid, and no Kubernetes can run on these machines. This
// answers that one call the way the API server does, for the tokens the test registers.
import { createServer, type Server } from 'node:http';
import { freePort } from '../../client/stack/ports.js';

export interface TokenReviewStandIn {
  url: string;
  /** Tokens the stand-in accepts, with the service account each one belongs to. */
  accept(token: string, account: { namespace: string; name: string }): void;
  reviews: number;
  close(): Promise<void>;
}

export async function startTokenReviewStandIn(): Promise<TokenReviewStandIn> {
  const accepted = new Map<string, { namespace: string; name: string }>();
  const state = { reviews: 0 };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') {
        res.writeHead(404).end();
        return;
      }
      state.reviews += 1;
      const review = JSON.parse(raw) as { spec?: { token?: string; audiences?: string[] } };
      const account = accepted.get(review.spec?.token ?? '');
      res.writeHead(201, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          status: account
            ? {
                authenticated: true,
                user: {
                  username: `system:serviceaccount:${account.namespace}:${account.name}`,
                  uid: `uid-${account.namespace}-${account.name}`,
                  groups: ['system:serviceaccounts', `system:serviceaccounts:${account.namespace}`],
                },
                audiences: review.spec?.audiences ?? [],
              }
            : { authenticated: false, error: 'invalid bearer token' },
        }),
      );
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    accept: (token, account) => accepted.set(token, account),
    get reviews() {
      return state.reviews;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
