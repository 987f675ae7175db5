// One power-on of the appliance under QEMU: q35 + OVMF (UEFI, its variables in a per-run copy), the disk
// and optionally an update medium on virtio, user-mode networking with the gateway's port 22 forwarded to
// a loopback port of this host (the guest reaches this host's loopback as 10.0.2.2), the serial console on
// stdio. TCG by default: /dev/kvm here cannot run guests; APPLIANCE_QEMU_ACCEL=kvm on real hardware.
import { spawn, type ChildProcess } from 'node:child_process';
import { SerialConsole } from './serial.js';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface MachineOptions {
  disk: string;
  /** The per-run copy of OVMF's variables. */
  efiVars: string;
  /** A FAT image labelled GHUPDATE holding upgrade bundles. */
  updateMedium?: string;
  /** This host's loopback port forwarded to the guest's port 22. */
  sshPort: number;
  transcript: string;
}

export class Machine {
  readonly console: SerialConsole;
  readonly poweredOnAt = Date.now();
  private readonly qemu: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(options: MachineOptions) {
    const accel = process.env.APPLIANCE_QEMU_ACCEL === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max'];
    const args = [
      '-machine', 'q35', ...accel, '-smp', '2', '-m', '1536',
      '-nodefaults', '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
      '-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`,
      '-drive', `if=pflash,format=raw,file=${options.efiVars}`,
      '-drive', `file=${options.disk},if=virtio,format=raw,cache=writeback`,
      ...(options.updateMedium ? ['-drive', `file=${options.updateMedium},if=virtio,format=raw,readonly=on`] : []),
      '-netdev', `user,id=net0,hostfwd=tcp:127.0.0.1:${options.sshPort}-:22`,
      '-device', 'virtio-net-pci,netdev=net0',
      '-device', 'virtio-rng-pci',
    ];
    this.qemu = spawn('qemu-system-x86_64', args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.exited = new Promise((resolve) => this.qemu.on('exit', (code) => resolve(code)));
    this.console = new SerialConsole(this.qemu.stdout!, this.qemu.stdin!, options.transcript);
  }

  /** Seconds since power-on. */
  uptime(): number {
    return (Date.now() - this.poweredOnAt) / 1000;
  }

  /** Pulls the plug: no shutdown, no flush (a power cut). */
  async powerCut(): Promise<void> {
    this.qemu.kill('SIGKILL');
    await this.exited;
  }

  /** Waits for the machine to power itself off. */
  async poweredOff(timeoutMs: number): Promise<void> {
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the machine did not power off')), timeoutMs).unref());
    await Promise.race([this.exited, timer]);
  }
}
