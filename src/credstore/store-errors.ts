// The errors of the encrypted local credential store. Messages name files, entries and reasons,
// never a secret, a passphrase or key material.

/** Why a credential store operation failed, for callers that react differently (e.g. ask again). */
export type CredentialStoreErrorReason =
  | 'wrong-passphrase' // the passphrase (or one of its parts) is wrong
  | 'altered' // authentication failed: the file was changed outside Gatehouse
  | 'corrupted' // the file is not a readable credential store
  | 'unsupported' // a format version this Gatehouse does not read
  | 'foreign-store' // the store belongs to another appliance
  | 'appliance-key' // the appliance key file is missing, unreadable or not this store's
  | 'missing' // no store file
  | 'invalid'; // a bad argument: host pattern, key, empty passphrase, unknown entry, ...

export class CredentialStoreError extends Error {
  readonly reason: CredentialStoreErrorReason;

  constructor(reason: CredentialStoreErrorReason, message: string) {
    super(message);
    this.name = 'CredentialStoreError';
    this.reason = reason;
  }
}

export class CredentialStoreLockedError extends Error {
  constructor() {
    super('credential store is locked');
    this.name = 'CredentialStoreLockedError';
  }
}

/** The error for one entry (or the key header) whose authentication failed. */
export function alteredError(what: string): CredentialStoreError {
  return new CredentialStoreError('altered', `${what} failed authentication: the store file was altered`);
}
