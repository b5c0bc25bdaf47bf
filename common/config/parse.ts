// The vaultops configuration: a YAML file overlaid by the environment. Callers read the file
// (file.ts); this module parses, expands ${VARS}, validates and explains what to fix. The one
// thing it looks at on disk is whether the files the configuration names can be read.
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { type Env, expandEnv, overlayEnv } from './environment.js';
import { ConfigError, describeIssue } from './errors.js';
import { checkConfigFiles, type FileCheck } from './named-files.js';
import { configFileSchema, type VaultopsConfig } from './schema.js';

export interface ParseOptions {
  /** How TLS files are checked; tests pass a stand-in. Default: open them for reading. */
  checkFile?: FileCheck;
}

/**
 * Builds the configuration from an optional YAML text and the environment.
 * Without a file, VAULT_ADDR (default http://127.0.0.1:8200) and friends describe the target.
 */
export function parseConfig(
  yamlText: string | undefined,
  env: Env,
  source = 'configuration',
  options: ParseOptions = {},
): VaultopsConfig {
  let doc: Record<string, unknown> = {};
  if (yamlText !== undefined) {
    let raw: unknown;
    try {
      raw = parseYaml(yamlText);
    } catch (err) {
      const detail = err instanceof YAMLParseError ? err.message.split('\n')[0] : String(err);
      throw new ConfigError(source, [`not valid YAML: ${detail}`]);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError(source, ['must be a YAML mapping with a "vault_integration:" section']);
    }
    const problems: string[] = [];
    doc = expandEnv(raw, env, '', problems) as Record<string, unknown>;
    if (problems.length > 0) throw new ConfigError(source, problems);
  } else {
    doc = { vault_integration: { address: env.VAULT_ADDR ?? 'http://127.0.0.1:8200' } };
  }
  const overlaid = overlayEnv(doc, env);
  const result = configFileSchema.safeParse(overlaid);
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((issue) => describeIssue(issue, overlaid)),
    );
  }
  const fileProblems = checkConfigFiles(result.data, options.checkFile);
  if (fileProblems.length > 0) throw new ConfigError(source, fileProblems);
  return result.data;
}
