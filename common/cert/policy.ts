// Certificate policy before issuance: what a certificate may name, which keys
// it may have, how long it may live, and which usages it must carry. Declared in YAML or JSON
// (`vaultops cert issue --policy policy.yaml`, snake_case like vaultops' other files, read by the
// CLI), checked with zod, evaluated in the certificate workflow before any request reaches Vault.
// Pure: no I/O, deterministic, safe in workflow code (the workflow checks a policy given to it
// directly with the same schema).
import { z } from 'zod';
import { formatDuration, parseDuration } from '../durations.js';

const DOMAIN_RULE =
  /^(\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const certPolicySchema = z.strictObject({
  /** `example.com` allows that name only; `*.example.com` any name below it (not the name itself). */
  allowedDomains: z
    .array(
      z
        .string()
        .transform((s) => s.trim().toLowerCase())
        .refine((s) => DOMAIN_RULE.test(s), 'must be a domain such as "example.com" or "*.example.com"'),
    )
    .min(1, 'name at least one domain')
    .optional(),
  /** Key types allowed, each with its minimum size in bits (ed25519: any number, e.g. 0). */
  keyTypes: z
    .strictObject({
      rsa: z.number().int().min(1024).optional(),
      ec: z.number().int().min(224).optional(),
      ed25519: z.number().int().min(0).optional(),
    })
    .refine((k) => Object.keys(k).length > 0, 'allow at least one key type')
    .optional(),
  /** The longest lifetime a certificate may ask for, e.g. "720h" or "90d". */
  maxTtl: z
    .string()
    .refine((s) => (parseDuration(s) ?? 0) > 0, 'must be a duration such as "720h" or "90d"')
    .optional(),
  /** Key usages the role must grant, in Vault's names: DigitalSignature, KeyEncipherment, ... */
  requiredKeyUsages: z.array(z.string().min(1)).optional(),
  /** Extended key usages the role must grant: ServerAuth, ClientAuth, CodeSigning, ... */
  requiredExtKeyUsages: z.array(z.string().min(1)).optional(),
  /** Whether IP addresses may be named (default: yes). */
  allowIpSans: z.boolean().optional(),
});

export type CertPolicy = z.output<typeof certPolicySchema>;
export type CertPolicyRule = keyof CertPolicy;

/**
 * A rule's name as a policy file spells it (snake_case, as in the rest of vaultops' files): the
 * name a violation and a schema problem say, so the user finds the line to change.
 */
export const POLICY_FILE_NAMES: Record<CertPolicyRule, string> = {
  allowedDomains: 'allowed_domains',
  keyTypes: 'key_types',
  maxTtl: 'max_ttl',
  requiredKeyUsages: 'required_key_usages',
  requiredExtKeyUsages: 'required_ext_key_usages',
  allowIpSans: 'allow_ip_sans',
};
const FROM_FILE_NAME = new Map(Object.entries(POLICY_FILE_NAMES).map(([rule, name]) => [name, rule]));

/**
 * What a certificate request would produce: names, key, lifetime and usages. A fact not known yet
 * (the key before the role is read) is left out, and the rules about it are not judged.
 */
export interface CertRequestFacts {
  commonName: string;
  altNames: string[];
  ipSans: string[];
  keyType?: string | undefined;
  /** 0 when the type has no size (ed25519). */
  keyBits?: number | undefined;
  /** The lifetime the certificate would get, after Vault's defaults and caps. */
  ttlMs?: number | undefined;
  keyUsages?: string[] | undefined;
  extKeyUsages?: string[] | undefined;
}

export interface CertPolicyViolation {
  rule: CertPolicyRule;
  message: string;
}

export class CertPolicyError extends Error {
  override name = 'CertPolicyError';
}

/** The policy as workflow input gives it; problems name their field as a policy file spells it. */
export function checkCertPolicy(raw: unknown, source: string): CertPolicy {
  const result = certPolicySchema.safeParse(raw);
  if (!result.success)
    throw new CertPolicyError(
      `${source} is not a valid certificate policy: ${result.error.issues
        .map((i) => {
          const [field, ...rest] = i.path.map(String);
          const named = field ? [POLICY_FILE_NAMES[field as CertPolicyRule] ?? field, ...rest] : [];
          return `${named.join('.') || '(top)'}: ${i.message}`;
        })
        .join('; ')}`,
    );
  return result.data;
}

/**
 * A policy file's parsed YAML/JSON (allowed_domains, key_types, max_ttl, required_key_usages,
 * required_ext_key_usages, allow_ip_sans), checked; an unknown key is named with those it may be.
 */
export function parseCertPolicyFile(raw: unknown, source: string): CertPolicy {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new CertPolicyError(`${source} is not a valid certificate policy: it must be a mapping of rules`);
  const policy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const rule = FROM_FILE_NAME.get(key);
    if (!rule)
      throw new CertPolicyError(
        `${source} is not a valid certificate policy: unknown rule "${key}" (rules: ${Object.values(POLICY_FILE_NAMES).join(', ')})`,
      );
    policy[rule] = value;
  }
  return checkCertPolicy(policy, source);
}

/** Whether `name` is allowed by one rule: exact, or (for `*.d`) any name below d. */
export function domainAllowed(name: string, rule: string): boolean {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  if (rule.startsWith('*.')) {
    const base = rule.slice(2);
    // A wildcard name (*.example.com) is below example.com too: it names only names below it.
    return n.endsWith(`.${base}`) && n.length > base.length + 1;
  }
  return n === rule;
}

const canonicalUsage = (u: string) => u.toLowerCase().replace(/[^a-z]/g, '');

/** Every rule the request breaks, each naming the rule and the value; empty when it complies. */
export function evaluateCertPolicy(request: CertRequestFacts, policy: CertPolicy): CertPolicyViolation[] {
  const violations: CertPolicyViolation[] = [];
  const violate = (rule: CertPolicyRule, detail: string) =>
    violations.push({ rule, message: `policy rule ${POLICY_FILE_NAMES[rule]}: ${detail}` });

  if (policy.allowedDomains) {
    const rules = policy.allowedDomains;
    const names = [...new Set([request.commonName, ...request.altNames].filter((n) => n !== ''))];
    for (const name of names)
      if (!rules.some((rule) => domainAllowed(name, rule)))
        violate('allowedDomains', `"${name}" is not under ${rules.join(', ')}`);
  }

  if (policy.keyTypes && request.keyType !== undefined) {
    const allowed = policy.keyTypes as Record<string, number | undefined>;
    const minimum = allowed[request.keyType];
    if (minimum === undefined)
      violate(
        'keyTypes',
        `key type ${request.keyType} is not allowed (allowed: ${Object.keys(allowed).join(', ')})`,
      );
    else if (request.keyType !== 'ed25519' && (request.keyBits ?? 0) < minimum)
      violate('keyTypes', `${request.keyType} ${request.keyBits} bits is below the minimum of ${minimum}`);
  }

  if (policy.maxTtl && request.ttlMs !== undefined) {
    const maxMs = parseDuration(policy.maxTtl) as number;
    if (request.ttlMs > maxMs)
      violate('maxTtl', `a lifetime of ${formatDuration(request.ttlMs)} is longer than ${policy.maxTtl}`);
  }

  const usages = (rule: 'requiredKeyUsages' | 'requiredExtKeyUsages', granted: string[] | undefined) => {
    if (granted === undefined) return;
    const have = new Set(granted.map(canonicalUsage));
    const missing = (policy[rule] ?? []).filter((u) => !have.has(canonicalUsage(u)));
    if (missing.length > 0)
      violate(
        rule,
        `${missing.join(', ')} not granted (the certificate would have: ${granted.join(', ') || 'none'})`,
      );
  };
  usages('requiredKeyUsages', request.keyUsages);
  usages('requiredExtKeyUsages', request.extKeyUsages);

  if (policy.allowIpSans === false)
    for (const ip of request.ipSans) violate('allowIpSans', `IP address "${ip}" may not be named`);

  return violations;
}

/**
 * The lifetime Vault would give: the asked TTL, else the role's, else the mount's default; cut to
 * the role's and the mount's maximum (0 there means "not set").
 */
export function effectiveTtlMs(facts: {
  requestedMs?: number | undefined;
  roleTtlSeconds: number;
  roleMaxTtlSeconds: number;
  mountDefaultTtlSeconds: number;
  mountMaxTtlSeconds: number;
}): number {
  const asked =
    facts.requestedMs ??
    (facts.roleTtlSeconds > 0 ? facts.roleTtlSeconds : facts.mountDefaultTtlSeconds) * 1000;
  const caps = [facts.roleMaxTtlSeconds, facts.mountMaxTtlSeconds].filter((s) => s > 0).map((s) => s * 1000);
  return Math.min(asked, ...caps);
}
