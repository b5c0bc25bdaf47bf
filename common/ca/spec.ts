// The declarative CA spec `vaultops ca bootstrap --spec <file>` reads: the intermediate mount,
// its name and key, its lifetime, where clients reach Vault, the roles (from templates: server,
// client, code-signing, as in the seeds' runbooks), and who approves the root's signature. Pure:
// parsed and checked before anything connects, each problem naming its field.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../durations.js';

const duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, 'must be a duration such as "720h" or "30d"');

/** What each template sets; a role's own fields win. */
export const ROLE_TEMPLATES = {
  server: { serverFlag: true, clientFlag: false, codeSigningFlag: false },
  client: { serverFlag: false, clientFlag: true, codeSigningFlag: false },
  'code-signing': { serverFlag: false, clientFlag: false, codeSigningFlag: true },
} as const;

const role = z.strictObject({
  template: z.enum(['server', 'client', 'code-signing']),
  allowed_domains: z.array(z.string().min(1)).min(1, 'name at least one domain'),
  allow_subdomains: z.boolean().default(true),
  allow_bare_domains: z.boolean().default(false),
  max_ttl: duration,
  ttl: duration.optional(),
  key_type: z.enum(['ec', 'rsa']).default('ec'),
  key_bits: z.number().int().optional(),
});

export const caSpecSchema = z.strictObject({
  mount: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a mount path such as "pki_int"'),
  root: z
    .string()
    .regex(/^[^/\s]+\/\S+$/, 'must be the KV path of the root, such as "secret/vaultops/ca/root"')
    .default('secret/vaultops/ca/root'),
  common_name: z.string().min(1),
  issuer_name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, "_" and "-", such as "int-2026"'),
  key_type: z.enum(['ec', 'rsa']).default('ec'),
  key_bits: z.number().int().optional(),
  ttl: duration,
  base_url: z
    .string()
    .regex(/^https?:\/\/\S+$/, 'must be where clients reach Vault, such as "https://vault.example.com:8200"'),
  roles: z
    .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/), role)
    .refine((r) => Object.keys(r).length > 0, 'define at least one role'),
  approval: z.strictObject({
    approvers: z.array(z.string().min(1)).min(1),
    quorum: z.number().int().min(1).default(1),
    timeout: duration.default('24h'),
  }),
});

export type CaSpec = z.output<typeof caSpecSchema>;

export class CaSpecError extends Error {
  override name = 'CaSpecError';
}

export function parseCaSpec(text: string, source: string): CaSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new CaSpecError(
      `${source} is not YAML: ${err instanceof Error ? err.message.split('\n')[0] : err}`,
    );
  }
  const result = caSpecSchema.safeParse(raw);
  if (!result.success) {
    throw new CaSpecError(
      `${source} is not a valid CA spec:\n${result.error.issues
        .map((i) => `  - ${i.path.join('.') || '(top)'}: ${i.message}`)
        .join('\n')}`,
    );
  }
  const spec = result.data;
  if (spec.approval.quorum > spec.approval.approvers.length)
    throw new CaSpecError(
      `${source}: approval.quorum ${spec.approval.quorum} is more than the ${spec.approval.approvers.length} approver(s)`,
    );
  return spec;
}
