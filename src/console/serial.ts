// The console on a serial device (8N1) through the `serialport` package. The returned input stream
// outlives the device: when the device goes away (unplugged USB adapter, hung-up pty) it is
// reopened every `reopenDelayMs` until it is back, and what is written meanwhile is dropped.
import { PassThrough, Writable } from 'node:stream';
import { SerialPort } from 'serialport';
import type { ConsoleIo } from './terminal.js';

export interface SerialConsoleOptions {
  device: string;
  baudRate: number;
  /** A serialport binding (e.g. SerialPortMock.binding in tests); default: the platform's. */
  binding?: unknown;
  /** Default 2000 ms. */
  reopenDelayMs?: number;
}

export type SerialConsole = ConsoleIo & { close(): Promise<void> };

const DEFAULT_REOPEN_DELAY_MS = 2000;

function createPort(options: SerialConsoleOptions): SerialPort {
  const settings = {
    path: options.device,
    baudRate: options.baudRate,
    dataBits: 8 as const,
    parity: 'none',
    stopBits: 1 as const,
    autoOpen: false,
  };
  // SerialPort is SerialPortStream with the platform binding as a default that a given binding
  // overrides (serialport 12 spreads the options over it), so we need not import @serialport/stream.
  const withBinding = options.binding === undefined ? settings : { ...settings, binding: options.binding };
  return new SerialPort(withBinding as ConstructorParameters<typeof SerialPort>[0]);
}

function openPort(port: SerialPort): Promise<void> {
  return new Promise((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) {
      resolve();
      return;
    }
    port.close(() => resolve());
  });
}

/**
 * Opens `device` as a console. Rejects with "cannot open serial console <device>: <reason>" when
 * the device cannot be opened now; after that, losing the device never ends the input.
 */
export async function openSerialConsole(options: SerialConsoleOptions): Promise<SerialConsole> {
  const reopenDelayMs = options.reopenDelayMs ?? DEFAULT_REOPEN_DELAY_MS;
  const input = new PassThrough();
  let current: SerialPort | undefined;
  let reopenTimer: NodeJS.Timeout | undefined;
  let closing = false;

  const attach = async (): Promise<void> => {
    const port = createPort(options);
    const gone = (): void => {
      if (current !== port) return;
      current = undefined;
      port.removeAllListeners('data');
      void closePort(port);
      scheduleReopen();
    };
    port.on('error', gone);
    port.on('close', gone);
    port.on('end', gone);
    await openPort(port);
    if (closing) {
      await closePort(port);
      return;
    }
    current = port;
    port.on('data', (chunk: Buffer) => input.write(chunk));
  };

  const scheduleReopen = (): void => {
    if (closing || reopenTimer) return;
    reopenTimer = setTimeout(() => {
      reopenTimer = undefined;
      if (closing) return;
      attach().catch(() => scheduleReopen());
    }, reopenDelayMs);
  };

  try {
    await attach();
  } catch (error) {
    throw new Error(`cannot open serial console ${options.device}: ${(error as Error).message.replace(/^Error: /, '')}`, { cause: error });
  }

  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const port = current;
      if (port?.isOpen) port.write(chunk, () => {}); // a failed write shows up as 'close'/'error' on the port
      done(); // dropped while the device is away
    },
  });

  return {
    input,
    output,
    async close() {
      if (closing) return;
      closing = true;
      if (reopenTimer) clearTimeout(reopenTimer);
      reopenTimer = undefined;
      const port = current;
      current = undefined;
      if (port) await closePort(port);
      input.end();
    },
  };
}
