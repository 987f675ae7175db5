// What a first-factor password backend answers: local users, an LDAP bind, a RADIUS server. A
// RADIUS server may answer with a challenge, which the SSH side turns into a keyboard-interactive
// prompt and answers through `respond`.

export type PasswordCheck =
  | { ok: true; groups?: string[] }
  /** `reason` is for the log only: the client hears "denied". */
  | { ok: false; reason: string }
  | { ok: 'challenge'; prompt: string; echo: boolean; respond(answer: string): Promise<PasswordCheck> };

/** The directory could not answer: not the person's fault, so it is not counted against them. */
export class DirectoryUnavailableError extends Error {
  override readonly name = 'DirectoryUnavailableError';
}

export interface PasswordAuthenticator {
  /** For log lines: `local`, `ldap:corp`, `radius:rad1`. */
  readonly name: string;
  /** Resolves with the verdict; rejects with DirectoryUnavailableError when the backend cannot answer. */
  checkPassword(user: string, password: string): Promise<PasswordCheck>;
}
