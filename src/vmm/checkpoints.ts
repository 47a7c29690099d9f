// Named checkpoints of a host's VM (`rvisor vm snapshot create|list|revert|delete`), as libvirt's
// internal snapshots: `<state-dir>/vms/<vm>/snapshots/<snap>/` holds the machine (`machine.rvs`,
// the snapshot format of docs/snapshot-format.md; none for a checkpoint of a shut-off VM), a
// point-in-time copy of each read-write disk (`disk-<i>.img`, reflinked where the file system can)
// and `checkpoint.json` (name, parent, creation time, state, definition, disks). `snapshots/current`
// names the checkpoint the VM was last created from or reverted to: the parent of the next one.
// A live checkpoint pauses the guest only while its RAM and disks are copied. A revert checks
// everything first (a refusal changes nothing), stops the VM, copies the disks back (in place, so
// the disk files keep their inode) and resumes the machine file as a restore does.
import { copyDiskFile } from '../host/disk/host-disk.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { RvisorError } from '../errors.js';
import type { DiskIdentity } from '../snapshot/machine.js';
import { fsyncDir, writeFileAtomic } from './atomic-file.js';
import { VM_NAME } from './definition.js';
import { now, type Dispatcher, type VmRun } from './dispatcher.js';
import { parseSize } from './size.js';
import {
  checkBootFiles, checkDisks, checkMachine, diskIdentity, fileIdentity, openSnapshotFile, writeSnapshotFile,
} from './snapshot-file.js';
import type { CheckpointInfo, RevertOptions, StartOptions, VmDefinition, VmInfo, VmState } from './types.js';

const MACHINE = 'machine.rvs';
const META = 'checkpoint.json';
const CURRENT = 'current';

/** checkpoint.json */
interface CheckpointMeta {
  name: string;
  vm: string;
  parent: string | null;
  created: string;
  state: 'running' | 'paused' | 'shutoff';
  definition: VmDefinition;
  /** The machine file, or null (taken while the VM was shut off: disks only). */
  machine: string | null;
  /** Per disk of the definition: its identity at the checkpoint and its copy (null: read-only,
   *  not copied: the VM cannot change it, and a revert refuses it if it changed). */
  disks: { path: string; readonly: boolean; copy: string | null; identity: DiskIdentity }[];
}

/** What the checkpoints need of a host's VM (Host's own Vm record fits). */
export interface CheckpointVm {
  def: VmDefinition;
  state: VmState;
  run: VmRun | undefined;
}

/** What the checkpoints need of the host (host.ts hands these in). */
export interface CheckpointHost<V extends CheckpointVm> {
  vmsDir: string;
  cpu: Dispatcher;
  get(name: string): V;
  serial<T>(vm: V, fn: () => Promise<T>): Promise<T>;
  info(vm: V): VmInfo;
  /** Ends the VM's run (its slice in flight has ended): shutoff. */
  stop(vm: V): void;
  /** Starts the VM from the snapshot file (host.ts launch). */
  launch(vm: V, opts: StartOptions, file: string): Promise<VmInfo>;
  /** The VMs a disk file (`dev:ino`) is attached to while they run. */
  diskUsers(key: string): { vm: string; writable: boolean }[];
}

export class Checkpoints<V extends CheckpointVm> {
  constructor(private readonly h: CheckpointHost<V>) {}

  private dir(vm: string): string {
    return join(this.h.vmsDir, vm, 'snapshots');
  }

  private checkName(snap: string): void {
    if (typeof snap !== 'string' || !VM_NAME.test(snap)) {
      throw new RvisorError('BAD_REQUEST', `snapshot name ${JSON.stringify(snap)} is invalid: it must match [a-z0-9][a-z0-9-]{0,62}`);
    }
  }

  private current(vm: string): string | null {
    try {
      const c = readFileSync(join(this.dir(vm), CURRENT), 'utf8').trim();
      return VM_NAME.test(c) ? c : null;
    } catch {
      return null;
    }
  }

  private setCurrent(vm: string, snap: string | null): void {
    const f = join(this.dir(vm), CURRENT);
    if (snap !== null) writeFileAtomic(f, snap + '\n', 0o600);
    else if (existsSync(f)) unlinkSync(f);
  }

  private read(vm: string, snap: string): CheckpointMeta {
    this.checkName(snap);
    const file = join(this.dir(vm), snap, META);
    if (!existsSync(file)) throw new RvisorError('SNAPSHOT_NOT_FOUND', `VM ${vm} has no snapshot named ${JSON.stringify(snap)}`);
    let m: CheckpointMeta | undefined;
    try {
      m = JSON.parse(readFileSync(file, 'utf8')) as CheckpointMeta;
    } catch { /* reported below */ }
    if (!m || m.name !== snap || !Array.isArray(m.disks) || typeof m.definition !== 'object') {
      throw new RvisorError('SNAPSHOT_CORRUPT', `snapshot ${snap} of VM ${vm}: its ${META} is malformed`);
    }
    return m;
  }

  private all(vm: string): CheckpointMeta[] {
    let names: string[];
    try {
      names = readdirSync(this.dir(vm)).filter((n) => VM_NAME.test(n) && existsSync(join(this.dir(vm), n, META)));
    } catch {
      return [];
    }
    return names.map((n) => this.read(vm, n)).sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
  }

  private info(m: CheckpointMeta, current: string | null): CheckpointInfo {
    return { name: m.name, parent: m.parent, created: m.created, state: m.state, current: m.name === current };
  }

  list(name: string): CheckpointInfo[] {
    const vm = this.h.get(name);
    const cur = this.current(vm.def.name);
    return this.all(vm.def.name).map((m) => this.info(m, cur));
  }

  create(name: string, snap: string): Promise<CheckpointInfo> {
    const vm = this.h.get(name);
    this.checkName(snap);
    return this.h.serial(vm, () => this.create_(vm, snap));
  }

  private async create_(vm: V, snap: string): Promise<CheckpointInfo> {
    const name = vm.def.name;
    const dir = this.dir(name);
    if (existsSync(join(dir, snap))) throw new RvisorError('SNAPSHOT_EXISTS', `VM ${name} already has a snapshot named ${snap}`);
    if (!['running', 'paused', 'shutoff'].includes(vm.state)) {
      throw new RvisorError('VM_STATE', `cannot take a snapshot of VM ${name}: it is ${vm.state} (snapshot needs running, paused or shutoff)`);
    }
    if (vm.state === 'shutoff' && existsSync(join(this.h.vmsDir, name, 'managed-save.rvs'))) {
      throw new RvisorError('VM_STATE', `cannot take a snapshot of VM ${name}: it has a managed save (start it first)`);
    }
    const def = vm.def;
    const created = new Date().toISOString();
    const parent = this.current(name);
    const tmp = join(dir, `.${snap}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    const write = (state: CheckpointMeta['state'], run: VmRun | undefined) => {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      mkdirSync(tmp, { mode: 0o700 });
      try {
        // Identity (size, times, inode; content hash up to 64 MiB) of each disk as it is now.
        const ids = def.disks.map((d) => diskIdentity({ path: d.path, readOnly: d.readonly, ...(d.format ? { format: d.format } : {}) }));
        if (run) {
          writeSnapshotFile(join(tmp, MACHINE), {
            meta: { origin: 'serve', name, paused: state === 'paused' },
            config: {
              vcpus: def.vcpus, memBytes: run.memBytes, append: def.append,
              kernel: fileIdentity(def.kernel), initrd: fileIdentity(def.initrd), bios: fileIdentity(def.bios),
              disks: ids,
              sched: { weight: def.weight, cap: def.cap },
              ...(def.deterministic ? { deterministic: def.deterministic } : {}),
            },
            host: run.arena.host, state: run.board!, nowMs: now(),
          });
        }
        const disks = def.disks.map((d, i) => {
          const identity = ids[i]!;
          const copy = d.readonly ? null : `disk-${i}.img`;
          if (copy) copyDiskFile(d.path, join(tmp, copy), fsConstants.COPYFILE_FICLONE);
          return { path: d.path, readonly: d.readonly, copy, identity };
        });
        const meta: CheckpointMeta = { name: snap, vm: name, parent, created, state, definition: structuredClone(def), machine: run ? MACHINE : null, disks };
        writeFileAtomic(join(tmp, META), JSON.stringify(meta, null, 2) + '\n', 0o600);
        renameSync(tmp, join(dir, snap));
        fsyncDir(dir);
        this.setCurrent(name, snap);
        return meta;
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        if (e instanceof RvisorError) throw e;
        throw new RvisorError('ENOENT_FILE', `cannot write snapshot ${snap} of VM ${name}: ${(e as Error).message}`, { cause: e });
      }
    };
    if (vm.state === 'shutoff') return this.info(write('shutoff', undefined), snap);
    // Live: the guest stops only while its RAM and disks are copied.
    const run = vm.run!;
    const wasPaused = run.paused;
    const resume = await this.h.cpu.stopBetweenSlices(run);
    try {
      if (vm.run !== run) throw new RvisorError('VM_STATE', `VM ${name} stopped before its snapshot could be taken (${vm.state})`);
      if (!run.board) throw new RvisorError('VM_STATE', `VM ${name} has not run yet (started paused): there is no machine state to snapshot`);
      return this.info(write(wasPaused ? 'paused' : 'running', run), snap);
    } finally {
      resume();
    }
  }

  revert(name: string, snap: string, opts: RevertOptions = {}): Promise<VmInfo> {
    const vm = this.h.get(name);
    this.checkName(snap);
    return this.h.serial(vm, () => this.revert_(vm, snap, opts));
  }

  private async revert_(vm: V, snap: string, opts: RevertOptions): Promise<VmInfo> {
    const name = vm.def.name;
    const m = this.read(name, snap);
    const folder = join(this.dir(name), snap);
    const what = `snapshot ${snap} of VM ${name}`;
    // Everything is checked before anything changes.
    const def = vm.def, was = m.definition;
    const fmt = (d: VmDefinition) => `${d.vcpus} vCPUs, ${d.memory} of RAM, disks [${d.disks.map((x) => `${x.path}${x.readonly ? ',ro' : ''}`).join(' ')}]`;
    if (def.vcpus !== was.vcpus || parseSize(def.memory, 'memory') !== parseSize(was.memory, 'memory') || JSON.stringify(def.disks) !== JSON.stringify(was.disks)) {
      throw new RvisorError('SNAPSHOT_MISMATCH', `${what} is of another configuration: it has ${fmt(was)}; the VM now has ${fmt(def)}`);
    }
    if (m.machine !== null) {
      const s = openSnapshotFile(join(folder, m.machine));
      try {
        checkMachine(s.config, { vcpus: def.vcpus, memBytes: parseSize(def.memory, 'memory'), disks: def.disks.map((d) => ({ path: d.path, readOnly: d.readonly })) }, what);
        checkBootFiles(s.config, what, false);
      } finally {
        s.close();
      }
    }
    for (const d of m.disks) {
      if (d.copy === null) {
        checkDisks({ disks: [d.identity] } as Parameters<typeof checkDisks>[0], what, false);
      } else if (!existsSync(join(folder, d.copy)) || statSync(join(folder, d.copy)).size !== d.identity.size) {
        throw new RvisorError('SNAPSHOT_CORRUPT', `${what}: the copy of disk ${d.path} is missing or truncated`);
      }
      let st;
      try {
        st = statSync(d.path);
      } catch {
        if (d.copy === null) throw new RvisorError('ENOENT_FILE', `${what}: disk ${d.path} does not exist`);
        continue; // recreated from the copy
      }
      const clash = this.h.diskUsers(`${st.dev}:${st.ino}`).find((u) => u.vm !== name && (u.writable || d.copy !== null));
      if (clash) throw new RvisorError('DISK_IN_USE', `${what}: disk ${d.path} is attached to the running VM ${clash.vm}`);
    }
    // Stop the VM, put the disks back, resume the machine.
    const run = vm.run;
    const paused = opts.paused ?? m.state === 'paused';
    if (run) {
      await this.h.cpu.stopBetweenSlices(run);
      if (vm.run === run) this.h.stop(vm);
    }
    for (const d of m.disks) if (d.copy !== null) copyDiskFile(join(folder, d.copy), d.path, fsConstants.COPYFILE_FICLONE);
    // A managed save belongs to the state the revert discards.
    try { unlinkSync(join(this.h.vmsDir, name, 'managed-save.rvs')); } catch { /* none */ }
    this.setCurrent(name, snap);
    if (m.machine === null) return this.h.info(vm);
    // The disks are the checkpoint's again and the boot files were checked above.
    return this.h.launch(vm, { paused, force: true }, join(folder, m.machine));
  }

  delete(name: string, snap: string): Promise<void> {
    const vm = this.h.get(name);
    this.checkName(snap);
    return this.h.serial(vm, async () => {
      const m = this.read(name, snap);
      // Its children become its parent's.
      for (const c of this.all(name)) {
        if (c.parent !== snap) continue;
        writeFileAtomic(join(this.dir(name), c.name, META), JSON.stringify({ ...c, parent: m.parent }, null, 2) + '\n', 0o600);
      }
      if (this.current(name) === snap) this.setCurrent(name, m.parent);
      rmSync(join(this.dir(name), snap), { recursive: true, force: true });
      fsyncDir(this.dir(name));
    });
  }
}
