// What the console asks of the appliance: its configuration store, credential store, live sessions, events,
// host keys and the OS. The wizard and the menu talk to this interface only; `gatehouse console`
// (src/cli/console.ts) implements it on the real stores and the running gateway's control socket, so the
// console never reaches into the gateway's internals.
import type { ConfigVersion } from '../config/store.js';
import type { OsSettings } from '../system/os-settings.js';

export interface CredentialStoreStatus {
  exists: boolean;
  mode?: 'appliance-key' | 'passphrase';
  parts?: number;
  unlocked?: boolean;
}

export interface LiveSessionLine {
  id: string;
  line: string;
}

export interface ApplianceControl {
  /** The current configuration version. */
  current(): Promise<ConfigVersion>;
  /** One commit with origin `console`; throws with the store's reason (validation, disk). */
  commit(config: unknown, message: string): Promise<ConfigVersion>;
  setSealed(sealed: boolean): Promise<ConfigVersion>;
  credentialStore(): Promise<CredentialStoreStatus>;
  /** Creates the credential store: with the appliance key (no parts) or a passphrase in 1–9 parts. */
  initCredentialStore(parts?: string[]): Promise<void>;
  /** Removes a store `initCredentialStore` has just made and nothing has used: the wizard's undo when its commit fails. */
  discardNewCredentialStore(): Promise<void>;
  unlockCredentialStore(parts?: string[]): Promise<void>;
  lockCredentialStore(): Promise<void>;
  /** The running gateway's sessions, one line each; throws when the gateway is not running. */
  sessions(): Promise<LiveSessionLine[]>;
  killSession(id: string, reason: string): Promise<void>;
  /** The newest security events, oldest first, one line each. */
  recentEvents(count: number): Promise<string[]>;
  /** "ssh-ed25519 SHA256:…" of the gateway's host key (made now if the gateway has never run). */
  hostKeyFingerprints(): Promise<string[]>;
  /** Writes and (on the appliance) applies network, hostname and time settings; returns the files written. */
  applyOsSettings(settings: OsSettings): Promise<string[]>;
  /** Status lines: CPU, memory, disks, interfaces, uptime, versions, sessions, stores. */
  status(): Promise<string[]>;
  /** Interfaces the box has, for the network step. */
  interfaces(): Promise<{ name: string; description: string }[]>;
  /**
   * Erases the data directory (configuration, credential store, host keys, recordings, events): the appliance
   * is as delivered and the wizard runs next. Refused while the gateway runs, except on the appliance, where
   * the gateway service is stopped first.
   */
  factoryReset(): Promise<void>;
  /** The A/B slots, one line each. */
  firmwareStatus(): Promise<string[]>;
  /** Verifies a signed bundle whole, then writes the inactive slot with a one-try boot entry; progress lines go to `say`. */
  upgradeFirmware(bundle: string, say: (line: string) => void): Promise<void>;
  /** The other slot boots next. */
  rollbackFirmware(): Promise<string>;
  /**
   * Brings a committed configuration change to the running gateway, which reads its configuration when it
   * starts: restarts it when no session is active (a restart would end them); returns what happened, one line.
   */
  applyToGateway(): Promise<string>;
  /** Starts the gateway service after the setup; false where this is not the appliance (nothing to start). */
  startGateway(): Promise<boolean>;
  /** Reboots or powers off the appliance (only where it runs as the appliance). */
  power(action: 'reboot' | 'poweroff'): Promise<void>;
}
