// VM definitions: defaults, validation and the checks against the host's files. A definition
// that passes normalizeDefinition can be stored; checkDefinitionFiles is repeated at start (files
// may have gone since). Every failure is RvisorError('BAD_DEFINITION') naming the field.
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { RvisorError } from '../errors.js';
import { IMAGES_DIR } from './files.js';
import { openDisk } from '../host/disk/host-disk.js';
import { Qcow2Disk } from '../host/disk/qcow2.js';
import { parseSize, sizeBytes } from './size.js';
import { parseSeed } from '../machine/deterministic.js';
import { JIT_DEFAULT_ON, jitConfig } from '../jit/config.js';
import { DEFAULT_JIT_THRESHOLD, type JitConfig } from '../jit/jit.js';
import type { VmDefinition, VmDefinitionInput } from './types.js';

export const VM_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const DEFAULT_WEIGHT = 256;
const KEYS = new Set(['name', 'vcpus', 'memory', 'kernel', 'initrd', 'append', 'bios', 'disks', 'weight', 'cap', 'autostart', 'deterministic',
  'reservation', 'limit', 'shares', 'sharingGroup', 'balloon', 'jit', 'jitThreshold']);

function bad(message: string): never {
  throw new RvisorError('BAD_DEFINITION', message);
}

export function checkName(name: unknown): string {
  if (typeof name !== 'string' || !VM_NAME.test(name)) bad(`VM name ${JSON.stringify(name)} is invalid: it must match [a-z0-9][a-z0-9-]{0,62}`);
  return name;
}

export function checkWeight(w: unknown): number {
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > 65535) bad(`weight ${JSON.stringify(w)} must be an integer 1..65535`);
  return w;
}

export function checkCap(c: unknown, vcpus = 8): number {
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 100 * vcpus) bad(`cap ${JSON.stringify(c)} must be an integer 0..${100 * vcpus} (per cent of one pCPU; 0 = none)`);
  return c;
}

/** Memory controls (issue #9) as stored in a definition: sizes as the user wrote them. */
export interface MemoryTune {
  reservation: string;
  limit: string | null;
  shares: number;
}

/** ESX's "normal" shares: 10 per MiB of guest memory. */
export function defaultShares(memBytes: number): number {
  return Math.max(1, Math.round((memBytes / 1048576) * 10));
}

/** Checks reservation ≤ limit ≤ memory and shares 1..10^7; returns the bytes. */
export function checkMemoryTune(memBytes: number, t: MemoryTune): { reservationBytes: number; limitBytes: number | null; shares: number } {
  const size = (v: unknown, what: string): number => {
    if (typeof v !== 'string') bad(`${what} must be a size string such as "128M"`);
    try {
      const b = sizeBytes(v, what);
      if (b % 4096) bad(`${what} ${v}: must be a multiple of 4K`);
      return b;
    } catch (e) {
      if (e instanceof RvisorError && e.code === 'BAD_DEFINITION') throw e;
      bad((e as Error).message);
    }
  };
  const reservationBytes = size(t.reservation, 'reservation');
  const limitBytes = t.limit === null ? null : size(t.limit, 'limit');
  if (reservationBytes > memBytes) bad(`reservation ${t.reservation} is more than the VM's memory (${memBytes / 1048576} MiB)`);
  if (limitBytes !== null) {
    if (limitBytes < 4 * 1048576) bad(`limit ${t.limit} is below 4M: the guest could not run`);
    if (limitBytes < reservationBytes) bad(`limit ${t.limit} is below the reservation ${t.reservation}`);
  }
  if (typeof t.shares !== 'number' || !Number.isInteger(t.shares) || t.shares < 1 || t.shares > 10000000) bad(`shares ${JSON.stringify(t.shares)} must be an integer 1..10000000`);
  return { reservationBytes, limitBytes, shares: t.shares };
}

/** Fills defaults and validates shapes and ranges; relative paths are made absolute against
 *  `cwd`. Does not touch the file system. */
export function normalizeDefinition(input: VmDefinitionInput, cwd = process.cwd()): VmDefinition {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) bad('a VM definition must be a JSON object');
  const unknown = Object.keys(input).filter((k) => !KEYS.has(k));
  if (unknown.length) bad(`unknown key${unknown.length > 1 ? 's' : ''} in the definition: ${unknown.join(', ')}`);
  const name = checkName(input.name);
  const vcpus = input.vcpus ?? 1;
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 8) bad(`vcpus ${JSON.stringify(vcpus)} must be an integer 1..8`);
  const memory = input.memory ?? '256M';
  if (typeof memory !== 'string') bad(`memory must be a size string such as "256M", not ${JSON.stringify(memory)}`);
  try {
    parseSize(memory, 'memory');
  } catch (e) {
    bad((e as Error).message);
  }
  const path = (v: unknown, what: string, dflt: string | null): string | null => {
    if (v === undefined) return dflt;
    if (v === null) return null;
    if (typeof v !== 'string' || v === '') bad(`${what} must be a file path or null`);
    return isAbsolute(v) ? v : resolve(cwd, v);
  };
  const kernel = path(input.kernel, 'kernel', join(IMAGES_DIR, 'Image.gz'));
  const initrd = path(input.initrd, 'initrd', join(IMAGES_DIR, 'initramfs.cpio.gz'));
  const bios = path(input.bios, 'bios', null);
  if (kernel === null && bios === null) bad('nothing to boot: give a kernel, or firmware in bios');
  const append = input.append ?? 'console=ttyS0';
  if (typeof append !== 'string') bad('append must be a string');
  const disksIn = input.disks ?? [];
  if (!Array.isArray(disksIn)) bad('disks must be an array of {"path", "readonly"}');
  if (disksIn.length > 6) bad(`at most 6 disks, not ${disksIn.length}`);
  const disks = disksIn.map((d, i) => {
    if (typeof d !== 'object' || d === null || typeof d.path !== 'string' || d.path === '') bad(`disks[${i}] needs a "path"`);
    const extra = Object.keys(d).filter((k) => k !== 'path' && k !== 'readonly' && k !== 'format');
    if (extra.length) bad(`disks[${i}] has unknown key ${extra[0]}`);
    if (d.readonly !== undefined && typeof d.readonly !== 'boolean') bad(`disks[${i}].readonly must be true or false`);
    if (d.format !== undefined && d.format !== 'raw' && d.format !== 'qcow2') bad(`disks[${i}].format must be "raw" or "qcow2"`);
    return { path: isAbsolute(d.path) ? d.path : resolve(cwd, d.path), readonly: d.readonly === true, ...(d.format !== undefined ? { format: d.format as 'raw' | 'qcow2' } : {}) };
  });
  const seen = new Set<string>();
  for (const d of disks) {
    if (seen.has(d.path)) bad(`disk ${d.path} is attached twice`);
    seen.add(d.path);
  }
  const weight = checkWeight(input.weight ?? DEFAULT_WEIGHT);
  const cap = checkCap(input.cap ?? 0, vcpus);
  const autostart = input.autostart ?? false;
  if (typeof autostart !== 'boolean') bad('autostart must be true or false');
  let deterministic: { seed: string } | undefined;
  if (input.deterministic !== undefined) {
    const d = input.deterministic as unknown;
    if (typeof d !== 'object' || d === null || Object.keys(d).some((k) => k !== 'seed') || typeof (d as { seed?: unknown }).seed !== 'string') {
      bad('deterministic must be {"seed": "N"} (an unsigned integer as a string, decimal or 0x hex)');
    }
    try {
      deterministic = { seed: parseSeed((d as { seed: string }).seed, 'deterministic.seed') };
    } catch (e) {
      bad((e as Error).message);
    }
  }
  const memBytes = parseSize(memory, 'memory');
  const reservation = input.reservation ?? '0';
  const limit = input.limit ?? null;
  const shares = input.shares ?? defaultShares(memBytes);
  checkMemoryTune(memBytes, { reservation, limit, shares });
  const sharingGroup = input.sharingGroup;
  if (sharingGroup !== undefined && (typeof sharingGroup !== 'string' || !VM_NAME.test(sharingGroup))) {
    bad(`sharingGroup ${JSON.stringify(sharingGroup)} must match [a-z0-9][a-z0-9-]{0,62}`);
  }
  const balloon = input.balloon ?? true;
  if (typeof balloon !== 'boolean') bad('balloon must be true or false');
  const jit = input.jit;
  if (jit !== undefined && jit !== 'on' && jit !== 'off') bad(`jit ${JSON.stringify(jit)} must be "on" or "off"`);
  const jitThreshold = input.jitThreshold;
  if (jitThreshold !== undefined && (typeof jitThreshold !== 'number' || !Number.isInteger(jitThreshold) || jitThreshold < 1 || jitThreshold > 0x7fffffff)) {
    bad(`jitThreshold ${JSON.stringify(jitThreshold)} must be an integer 1..${0x7fffffff} (instructions run on a page before it is compiled)`);
  }
  return {
    name, vcpus, memory, kernel, initrd, append, bios, disks, weight, cap, autostart, ...(deterministic ? { deterministic } : {}),
    reservation, limit, shares, ...(sharingGroup ? { sharingGroup } : {}), balloon,
    ...(jit !== undefined ? { jit } : {}), ...(jitThreshold !== undefined ? { jitThreshold } : {}),
  };
}

/** The JIT part of a machine spec for a definition: its `jit` and `jitThreshold`, the host's
 *  environment for what it leaves out (nothing when it says nothing: the workers' cores use the
 *  environment). Never throws: a bad $RVISOR_JIT or $RVISOR_JIT_THRESHOLD counts as unset. */
export function definitionJit(def: Pick<VmDefinition, 'jit' | 'jitThreshold'>): { jit?: JitConfig } {
  if (def.jit === undefined && def.jitThreshold === undefined) return {};
  const mode = def.jit === undefined ? undefined : def.jit === 'on';
  try {
    return { jit: jitConfig(mode, def.jitThreshold) };
  } catch {
    return { jit: jitConfig(mode ?? JIT_DEFAULT_ON, def.jitThreshold ?? DEFAULT_JIT_THRESHOLD) };
  }
}

/** The files a definition names exist, are regular files and can be opened as asked. */
export function checkDefinitionFiles(def: VmDefinition): void {
  const need = (p: string | null, what: string, write = false) => {
    if (p === null) return;
    let st;
    try {
      st = statSync(p);
    } catch {
      bad(`${what} ${p} does not exist`);
    }
    if (!st.isFile()) bad(`${what} ${p} is not a regular file`);
    try {
      accessSync(p, write ? constants.R_OK | constants.W_OK : constants.R_OK);
    } catch {
      bad(`${what} ${p} cannot be ${write ? 'read and written' : 'read'}`);
    }
  };
  need(def.kernel, 'kernel');
  need(def.initrd, 'initrd');
  need(def.bios, 'bios');
  def.disks.forEach((d, i) => {
    need(d.path, `disks[${i}]`, !d.readonly);
    // The image itself (format, size, a qcow2 header and its backing chain), opened read-only so
    // that checking changes nothing.
    try {
      const disk = openDisk(d.path, { readOnly: true, ...(d.format ? { format: d.format } : {}) });
      try {
        if (!d.readonly && disk instanceof Qcow2Disk) Qcow2Disk.checkUsable(d.path, disk.header, false);
      } finally {
        disk.close();
      }
    } catch (e) {
      if (e instanceof RvisorError) bad(`disks[${i}]: ${e.message}`);
      throw e;
    }
  });
}
