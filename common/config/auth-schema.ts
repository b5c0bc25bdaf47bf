// How vaultops logs in to a Vault cluster: one auth method, or several tried in order.
import { z } from 'zod';

export const nonEmpty = (what: string) =>
  z.string({ error: `must be ${what}` }).min(1, `must be ${what}, not empty`);

const mountPath = (name: string) => z.string().min(1).default(name);

const tokenAuth = z.strictObject({
  method: z.literal('token'),
  token: nonEmpty('a Vault token (or "${VAULT_TOKEN}")'),
});

const appRoleAuth = z.strictObject({
  method: z.literal('approle'),
  role_id: nonEmpty('the AppRole role_id (or "${VAULT_ROLE_ID}")'),
  secret_id: nonEmpty('the AppRole secret_id (or "${VAULT_SECRET_ID}")'),
  mount_path: mountPath('approle'),
});

const jwtAuth = z
  .strictObject({
    method: z.literal('jwt'),
    role: nonEmpty('the JWT/OIDC role to log in as'),
    /** The token itself, or a file to read it from at each login (it may be rotated). */
    jwt: z.string().min(1).optional(),
    jwt_file: z.string().min(1).optional(),
    mount_path: mountPath('jwt'),
  })
  .refine((a) => (a.jwt === undefined) !== (a.jwt_file === undefined), {
    message: 'give exactly one of jwt or jwt_file',
  });

const certAuth = z.strictObject({
  method: z.literal('cert'),
  /** The cert role to match; the certificate itself is tls.client_cert/client_key. */
  name: z.string().optional(),
  mount_path: mountPath('cert'),
});

const userpassAuth = z.strictObject({
  method: z.literal('userpass'),
  username: nonEmpty('the userpass username'),
  password: nonEmpty('the password (or "${VAULT_PASSWORD}")'),
  mount_path: mountPath('userpass'),
});

const ldapAuth = z.strictObject({
  method: z.literal('ldap'),
  username: nonEmpty('the LDAP username'),
  password: nonEmpty('the LDAP password (or "${LDAP_PASSWORD}")'),
  mount_path: mountPath('ldap'),
});

const kubernetesAuth = z.strictObject({
  method: z.literal('kubernetes'),
  role: nonEmpty('the Kubernetes auth role'),
  jwt_file: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
  mount_path: mountPath('kubernetes'),
});

const authMethod = z.discriminatedUnion(
  'method',
  [tokenAuth, appRoleAuth, jwtAuth, certAuth, userpassAuth, ldapAuth, kubernetesAuth],
  { error: 'method must be one of: token, approle, jwt, cert, userpass, ldap, kubernetes' },
);

/** One method, or several tried in order: the next one is used when one fails. */
export const authentication = z.preprocess(
  (a) => (Array.isArray(a) ? a : [a]),
  z.array(authMethod).min(1, 'list at least one auth method'),
);

export type VaultAuthConfig = z.output<typeof authMethod>;
export type VaultAuthChain = z.output<typeof authentication>;
