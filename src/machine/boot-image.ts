// Recognising what the user asks the VM to boot: a Linux RISC-V kernel Image (Linux
// Documentation/riscv/boot-image-header.rst) and where its pieces go in guest RAM.
import { RvisorError } from '../errors.js';

export interface KernelImage {
  bytes: Uint8Array;
  /** Offset from the start of RAM where the kernel must be placed (2 MiB-aligned). */
  textOffset: number;
  /** Bytes of RAM the kernel occupies, bss included. */
  imageSize: number;
}

const MAGIC2 = 0x05435352; // "RSC\x05"

/** Parses the 64-byte header of a RISC-V Linux Image; `name` is used in errors. */
export function parseKernelImage(bytes: Uint8Array, name: string): KernelImage {
  if (bytes.length < 64) throw new RvisorError('BAD_KERNEL', `${name}: too small to be a RISC-V Linux kernel Image (${bytes.length} bytes)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = new TextDecoder().decode(bytes.subarray(0x30, 0x35));
  if (v.getUint32(0x38, true) !== MAGIC2 && magic !== 'RISCV') {
    if (bytes[0] === 0x7f && bytes[1] === 0x45) {
      throw new RvisorError('BAD_KERNEL', `${name}: an ELF file, not a kernel Image (use arch/riscv/boot/Image)`);
    }
    throw new RvisorError('BAD_KERNEL', `${name}: not a RISC-V Linux kernel Image (no "RSC\\x05" magic at offset 0x38)`);
  }
  const textOffset = Number(v.getBigUint64(0x08, true));
  const imageSize = Number(v.getBigUint64(0x10, true)) || bytes.length;
  if (textOffset % 4096 !== 0 || textOffset > 1 << 30) throw new RvisorError('BAD_KERNEL', `${name}: implausible text_offset 0x${textOffset.toString(16)}`);
  return { bytes, textOffset, imageSize: Math.max(imageSize, bytes.length) };
}

/** Where the loader puts things in a RAM of `ramSize` bytes (offsets from the RAM base). */
export interface Placement {
  firmware: number;
  kernel: number;
  initrd?: { start: number; end: number };
  fdt: number;
  /** OpenSBI's struct fw_dynamic_info. */
  dynamicInfo: number;
}

export const FDT_MAX = 64 * 1024;

export function place(ramSize: number, kernel: KernelImage, initrdSize: number | undefined, firmwareSize: number): Placement {
  const up = (n: number, a: number) => Math.ceil(n / a) * a;
  const kernelAt = Math.max(kernel.textOffset, up(firmwareSize, 0x200000));
  const kernelEnd = kernelAt + kernel.imageSize;
  const fdt = ramSize - FDT_MAX;
  const dynamicInfo = fdt - 4096;
  let initrd: Placement['initrd'];
  let lowest = dynamicInfo;
  if (initrdSize !== undefined) {
    const start = Math.floor((dynamicInfo - initrdSize) / 4096) * 4096;
    initrd = { start, end: start + initrdSize };
    lowest = start;
  }
  // Keep at least 16 MiB free between the kernel and what sits above it: the kernel needs room to
  // set up its page tables and memory map before it can run anything.
  if (kernelEnd + 16 * 1048576 > lowest) {
    throw new RvisorError('MEM_TOO_SMALL',
      `memory too small: ${Math.floor(ramSize / 1048576)} MiB cannot hold the kernel (${Math.ceil(kernel.imageSize / 1048576)} MiB)` +
      `${initrdSize !== undefined ? `, the initrd (${Math.ceil(initrdSize / 1048576)} MiB)` : ''} and room to boot; try --mem ${Math.ceil((kernelEnd + (ramSize - lowest) + 48 * 1048576) / 1048576 / 16) * 16}M`);
  }
  return { firmware: 0, kernel: kernelAt, initrd, fdt, dynamicInfo };
}
