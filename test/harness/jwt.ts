// JWTs signed with keys the test generates (ES256), for JWT/OIDC and Kubernetes auth tests.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

export interface JwtSigner {
  publicKeyPem: string;
  sign(claims: Record<string, unknown>): string;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function jwtSigner(): JwtSigner {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    publicKeyPem: (publicKey as KeyObject).export({ type: 'spki', format: 'pem' }).toString(),
    sign(claims) {
      const now = Math.floor(Date.now() / 1000);
      const head = `${b64url({ alg: 'ES256', typ: 'JWT' })}.${b64url({ iat: now, nbf: now - 5, exp: now + 300, ...claims })}`;
      const signature = sign('sha256', Buffer.from(head), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      return `${head}.${signature.toString('base64url')}`;
    },
  };
}
