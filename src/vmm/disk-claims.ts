// Which running VMs hold which disk files (by st_dev:st_ino, so links count as the same file). A
// disk file may be attached to several running VMs only read-only, as QEMU's image locking refuses
// a second writer: a read-write attachment conflicts with any other.
import { RvisorError } from '../errors.js';
import type { RawFileDisk } from '../host/disk/raw-file.js';

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
  claim(name: string, disks: RawFileDisk[]): void {
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

  release(name: string, disks: RawFileDisk[]): void {
    for (const d of disks) {
      const key = `${d.dev}:${d.ino}`;
      const left = this.of(key).filter((u) => u.vm !== name);
      if (left.length) this.users.set(key, left);
      else this.users.delete(key);
    }
  }
}
