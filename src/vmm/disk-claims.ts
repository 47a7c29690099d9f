// Which running VMs hold which disk files (by st_dev:st_ino, so links count as the same file). A
// disk file may be attached to several running VMs only read-only, as QEMU's image locking refuses
// a second writer: a read-write attachment conflicts with any other. The backing files of a qcow2
// disk are claimed read-only with it (they are read through it).
import { RvisorError } from '../errors.js';
import { diskFiles, type HostDisk } from '../host/disk/host-disk.js';

export interface DiskUser {
  vm: string;
  writable: boolean;
}

export class DiskClaims {
  private readonly users = new Map<string, DiskUser[]>();

  /** The VMs a disk file (`dev:ino`) is attached to. */
  of(key: string): DiskUser[] {
    return this.users.get(key) ?? [];
  }

  /** Claims every disk for VM `name`, or none (DISK_IN_USE naming the other VM). */
  claim(name: string, disks: HostDisk[]): void {
    disks = files(disks);
    for (const d of disks) {
      const clash = this.of(`${d.dev}:${d.ino}`).find((u) => u.writable || !d.readOnly);
      if (clash) {
        throw new RvisorError('DISK_IN_USE', `disk ${d.path} is attached ${clash.writable ? 'read-write' : 'read-only'} to the running VM ${clash.vm}: `
          + 'a disk may be shared only read-only by every VM');
      }
    }
    for (const d of disks) {
      const key = `${d.dev}:${d.ino}`;
      this.users.set(key, [...this.of(key), { vm: name, writable: !d.readOnly }]);
    }
  }

  release(name: string, disks: HostDisk[]): void {
    for (const d of files(disks)) {
      const key = `${d.dev}:${d.ino}`;
      const left = this.of(key).filter((u) => u.vm !== name);
      if (left.length) this.users.set(key, left);
      else this.users.delete(key);
    }
  }
}

/** The disks and their backing files (opened read-only), each file once. */
function files(disks: HostDisk[]): HostDisk[] {
  const out: HostDisk[] = [];
  for (const f of disks.flatMap((d) => diskFiles(d))) if (!out.some((o) => o.dev === f.dev && o.ino === f.ino)) out.push(f);
  return out;
}
