// Sealed mode: once sealed, the appliance accepts changes only from the local console. Every store
// (configuration, credential store, plugin slots) asks one SealGuard before it changes anything.

/** Where a change comes from: the local (serial) console, or any remote surface (SSH admin, API). */
export type ChangeOrigin = 'console' | 'remote';

export class SealedError extends Error {
  constructor() {
    super('appliance is sealed: change it from the local console');
    this.name = 'SealedError';
  }
}

export interface SealGuard {
  isSealed(): boolean;
  /** Throws SealedError when the appliance is sealed and the change is not from the console. */
  assertMayChange(origin: ChangeOrigin): void;
}

/** The guard of a store whose sealed flag is read through `isSealed`. */
export function sealGuard(isSealed: () => boolean): SealGuard {
  return {
    isSealed,
    assertMayChange(origin) {
      if (origin !== 'console' && isSealed()) throw new SealedError();
    },
  };
}
