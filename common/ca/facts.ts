// Pure CA facts shared by the CLI, workflows and activities (no I/O, no native modules).

/** The root key types vaultops makes in an HSM: EC P-384 (the default) and RSA 4096, and smaller. */
export const ROOT_KEY_TYPES = ['ec-p384', 'ec-p256', 'rsa-4096', 'rsa-2048'] as const;
export type RootKeyType = (typeof ROOT_KEY_TYPES)[number];
