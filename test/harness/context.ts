// Values the global setup hands to tests (vitest `provide` / `inject`).
import type { VaultFlavour } from '../../client/stack/vault-dev.js';

export interface ProvidedVault {
  flavour: VaultFlavour;
  address: string;
  /** Dev server root token: generated per run, held in memory, never written. */
  rootToken: string;
  binary: string;
}

export interface ProvidedHsm {
  modulePath: string;
  confPath: string;
  label: string;
  userPin: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalTestServerPath: string;
    vault: ProvidedVault;
    hsm: ProvidedHsm;
    tools: { temporal: string; openbao: string };
  }
}
