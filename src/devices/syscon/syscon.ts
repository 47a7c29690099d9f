// The SiFive test / finisher device (compatible "sifive,test1", "sifive,test0", "syscon"), as
// QEMU's virt board has at 0x10_0000 (QEMU hw/misc/sifive_test.c). One write-only command register
// at offset 0; the low 16 bits select the command, bits 31:16 carry an argument:
//   0x3333  FAIL: power off reporting failure; bits 31:16 = exit code  -> onFail(code)
//   0x5555  PASS: power off                                           -> onPowerOff()
//   0x7777  RESET: reboot                                             -> onReboot()
// Linux reaches it through the "syscon-poweroff" and "syscon-reboot" nodes (drivers/power/reset),
// OpenSBI through its "sifive,test" reset driver. Any other value, offset or width (only 2- and
// 4-byte writes to offset 0 are commands, as in QEMU) is ignored; reads return 0.

import type { FdtNodeWriter, MmioDevice, Stateful } from '../device.js';
import { RvisorError } from '../../errors.js';
import type { SysconState } from './state.js';

export type { SysconState } from './state.js';

export const SYSCON_CMD_FAIL = 0x3333;
export const SYSCON_CMD_PASS = 0x5555;
export const SYSCON_CMD_RESET = 0x7777;

export interface SysconOptions {
  onPowerOff(): void;
  onReboot(): void;
  /** Power off with a failure exit code (bits 31:16 of the write, 0..65535). */
  onFail(code: number): void;
}

export class SifiveTest implements MmioDevice, Stateful<SysconState> {
  private readonly opts: SysconOptions;

  constructor(opts: SysconOptions) {
    this.opts = opts;
  }

  read(_offset: number, _size: number): number {
    return 0;
  }

  write(offset: number, value: number, size: number): void {
    if (offset !== 0 || (size !== 2 && size !== 4)) return;
    const v = size === 2 ? value & 0xffff : value >>> 0;
    switch (v & 0xffff) {
      case SYSCON_CMD_FAIL:
        this.opts.onFail(v >>> 16);
        return;
      case SYSCON_CMD_PASS:
        this.opts.onPowerOff();
        return;
      case SYSCON_CMD_RESET:
        this.opts.onReboot();
        return;
      default:
        return;
    }
  }

  save(): SysconState {
    return { version: 1 };
  }

  restore(state: SysconState): void {
    if (state === null || typeof state !== 'object' || state.version !== 1) {
      throw new RvisorError('INTERNAL', 'syscon: saved state is malformed');
    }
  }
}

export interface SysconFdtOptions {
  base: number;
  size: number;
}

/** The device's node under /soc (test@<base>, with a phandle) plus, at the root as QEMU virt writes
 *  them, the "poweroff" and "reboot" nodes that point Linux's syscon drivers at it. */
export function sysconFdtNode(opts: SysconFdtOptions): {
  fdtNode(w: FdtNodeWriter): void;
  fdtRootNode(w: FdtNodeWriter): void;
} {
  const name = `test@${opts.base.toString(16)}`;
  return {
    fdtNode(w) {
      w.beginNode(name);
      w.propU32('phandle', w.phandle(name));
      w.propU64('reg', BigInt(opts.base), BigInt(opts.size));
      w.propString('compatible', 'sifive,test1', 'sifive,test0', 'syscon');
      w.endNode();
    },
    fdtRootNode(w) {
      const ph = w.phandle(name);
      for (const [node, compatible, value] of [
        ['poweroff', 'syscon-poweroff', SYSCON_CMD_PASS],
        ['reboot', 'syscon-reboot', SYSCON_CMD_RESET],
      ] as const) {
        w.beginNode(node);
        w.propU32('value', value);
        w.propU32('offset', 0);
        w.propU32('regmap', ph);
        w.propString('compatible', compatible);
        w.endNode();
      }
    },
  };
}
