// The host's VM registry on disk, one folder per VM as libvirt keeps per-domain files:
// <stateDir>/vms/<name>/definition.json (written atomically) and, while the VM runs, a `running`
// marker, so a host that restarts (cleanly or after kill -9) can tell which VMs it lost. No
// database: the folders are the truth.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, fsyncDir } from './atomic-file.js';
import { normalizeDefinition, VM_NAME } from './definition.js';
import type { VmDefinition } from './types.js';

export interface LoadedVm {
  def: VmDefinition;
  /** It was running when the host that wrote the folder stopped. */
  wasRunning: boolean;
}

export class Registry {
  readonly vmsDir: string;

  constructor(readonly stateDir: string) {
    this.vmsDir = join(stateDir, 'vms');
    mkdirSync(this.vmsDir, { recursive: true, mode: 0o700 });
  }

  private dir(name: string): string {
    return join(this.vmsDir, name);
  }

  /** Every readable definition; a folder whose definition cannot be read is reported and skipped
   *  (it is left as it is for the user to mend). */
  load(warn: (msg: string) => void): LoadedVm[] {
    const out: LoadedVm[] = [];
    for (const name of readdirSync(this.vmsDir).sort()) {
      if (!VM_NAME.test(name)) continue;
      const file = join(this.dir(name), 'definition.json');
      try {
        const def = normalizeDefinition(JSON.parse(readFileSync(file, 'utf8')) as VmDefinition);
        if (def.name !== name) throw new Error(`it names the VM "${def.name}"`);
        out.push({ def, wasRunning: existsSync(join(this.dir(name), 'running')) });
      } catch (e) {
        warn(`skipping ${file}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  save(def: VmDefinition): void {
    const dir = this.dir(def.name);
    const fresh = !existsSync(dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (fresh) fsyncDir(this.vmsDir);
    writeFileAtomic(join(dir, 'definition.json'), JSON.stringify(def, null, 2) + '\n', 0o600);
  }

  remove(name: string): void {
    rmSync(this.dir(name), { recursive: true, force: true });
    fsyncDir(this.vmsDir);
  }

  setRunning(name: string, running: boolean): void {
    const marker = join(this.dir(name), 'running');
    if (running) writeFileAtomic(marker, `${process.pid}\n`, 0o600);
    else if (existsSync(marker)) unlinkSync(marker);
  }
}
