// The structured logger (pino). Every component logs through a child that carries its context.
import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';

export type { Logger };

/** Field names whose values must never be written, wherever they appear in a log object. */
const secretPaths = ['password', '*.password', 'passphrase', '*.passphrase', 'privateKey', '*.privateKey', 'otp', '*.otp'];

export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { app: 'gatehouse' },
    redact: { paths: secretPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
