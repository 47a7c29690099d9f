// The host's migration desk: the migrations this host sends (one per VM at a time, cancellable)
// and the VMs arriving by migration, which every verb refuses until they switch. A folder marked
// `incoming` belongs to an arrival that never switched; a restarted host removes it (host.ts).
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { RvisorError } from '../../errors.js';
import type { MigrateOptions, MigrationInfo, VmDefinition } from '../types.js';
import { Migration, type MigrateVm, type SendHost } from './send.js';
import { receiveMigration, type ReceiveHost } from './receive.js';

/** Marks a VM folder whose live migration into this host has not switched yet. */
export const INCOMING = 'incoming';

export interface DeskHost<V extends MigrateVm> extends SendHost<V>, Omit<ReceiveHost<V>, 'define' | 'undefine' | 'arrived'> {
  serial<T>(vm: V, fn: () => Promise<T>): Promise<T>;
  /** Defines a VM and returns its record (host.ts define). */
  defineVm(def: VmDefinition): V;
  undefineVm(name: string): void;
  setAutostart(name: string, on: boolean): void;
}

export class MigrationDesk<V extends MigrateVm> {
  private readonly sending = new Map<V, Migration<V>>();
  private readonly incoming = new Set<string>();

  constructor(private readonly h: DeskHost<V>) {}

  /** The VM is arriving by migration and has not switched: verbs must refuse it. */
  isIncoming(name: string): boolean {
    return this.incoming.has(name);
  }

  async migrate(vm: V, opts: MigrateOptions): Promise<MigrationInfo> {
    if (typeof opts?.to !== 'string') throw new RvisorError('BAD_REQUEST', 'migrate needs a destination (to)');
    if (this.sending.has(vm)) throw new RvisorError('VM_STATE', `VM ${vm.def.name} is already being migrated`);
    const m = new Migration<V>(this.h, vm, opts);
    this.sending.set(vm, m);
    try {
      return await this.h.serial(vm, () => m.run());
    } finally {
      this.sending.delete(vm);
    }
  }

  cancel(vm: V): boolean {
    return this.sending.get(vm)?.cancel() ?? false;
  }

  /** The destination side: a WebSocket from the source host. */
  accept(ws: WebSocket): void {
    const h = this.h;
    receiveMigration<V>({
      ...h,
      define: (def) => {
        const vm = h.defineVm(def);
        this.incoming.add(def.name);
        writeFileSync(join(h.vmsDir, def.name, INCOMING), `${process.pid}\n`, { mode: 0o600 });
        return vm;
      },
      undefine: (n) => { this.incoming.delete(n); h.undefineVm(n); },
      arrived: (n, autostart) => {
        this.incoming.delete(n);
        try { unlinkSync(join(h.vmsDir, n, INCOMING)); } catch { /* gone */ }
        if (autostart) h.setAutostart(n, true);
      },
    }, ws);
  }
}
