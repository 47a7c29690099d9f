// The credentials of a guest process: real, effective, saved and file-system user and group
// ids and the supplementary groups, with the set*id rules of Linux (credentials(7)). A process
// whose effective uid is 0 may set any id (rvisor records the change; the host process keeps
// its own ids, so host file access is still checked against rvisor's user); any other process
// may only switch between the ids it already has (EPERM otherwise). Capabilities follow the
// effective uid: all of them for euid 0, none otherwise (capget), and capset can only lower.
import type { Process } from './process.js';

/** Whether rvisor itself runs as root: then the host lets it do anything, and rvisor applies
 *  to a guest that is not root the checks the host would otherwise make (dac.ts and callers). */
export const HOST_ROOT = process.geteuid?.() === 0;

const NO_ID = 0xffffffff;

export class Creds {
  ruid: number;
  euid: number;
  suid: number;
  fsuid: number;
  rgid: number;
  egid: number;
  sgid: number;
  fsgid: number;
  groups: number[];

  constructor(uid: number, gid: number, groups: number[] = []) {
    this.ruid = this.euid = this.suid = this.fsuid = uid;
    this.rgid = this.egid = this.sgid = this.fsgid = gid;
    this.groups = groups;
  }

  /** The credentials of the process rvisor was started in. */
  static ofHost(): Creds {
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    return new Creds(uid, gid, (process.getgroups?.() ?? []).filter((g) => g !== gid));
  }

  clone(): Creds {
    const c = new Creds(0, 0, [...this.groups]);
    Object.assign(c, { ...this, groups: [...this.groups] });
    return c;
  }

  get privileged(): boolean {
    return this.euid === 0;
  }
}

export type IdKind = 'uid' | 'gid';

function ids(c: Creds, k: IdKind): [number, number, number] {
  return k === 'uid' ? [c.ruid, c.euid, c.suid] : [c.rgid, c.egid, c.sgid];
}

function store(c: Creds, k: IdKind, r: number, e: number, s: number): void {
  if (k === 'uid') {
    c.ruid = r;
    c.euid = e;
    c.suid = s;
    c.fsuid = e;
  } else {
    c.rgid = r;
    c.egid = e;
    c.sgid = s;
    c.fsgid = e;
  }
}

/** setuid / setgid: 0 or -EPERM / -EINVAL (values are unsigned 32-bit ids). */
export function setId(c: Creds, k: IdKind, id: number): number {
  if (id === NO_ID) return -22;
  const [r, e, s] = ids(c, k);
  if (c.privileged) store(c, k, id, id, id);
  else if (id === r || id === s) store(c, k, r, id, s);
  else return -1;
  return 0;
}

/** setreuid / setregid. */
export function setReId(c: Creds, k: IdKind, nr: number, ne: number): number {
  const [r, e, s] = ids(c, k);
  if (!c.privileged) {
    if (nr !== NO_ID && nr !== r && nr !== e) return -1;
    if (ne !== NO_ID && ne !== r && ne !== e && ne !== s) return -1;
  }
  const r2 = nr === NO_ID ? r : nr;
  const e2 = ne === NO_ID ? e : ne;
  // The saved id follows the new effective id when the real id is set or the effective id is
  // set to something other than the old real id.
  const s2 = nr !== NO_ID || (ne !== NO_ID && ne !== r) ? e2 : s;
  store(c, k, r2, e2, s2);
  return 0;
}

/** setresuid / setresgid. */
export function setResId(c: Creds, k: IdKind, nr: number, ne: number, ns: number): number {
  const cur = ids(c, k);
  if (!c.privileged) {
    for (const v of [nr, ne, ns]) if (v !== NO_ID && !cur.includes(v)) return -1;
  }
  store(c, k, nr === NO_ID ? cur[0] : nr, ne === NO_ID ? cur[1] : ne, ns === NO_ID ? cur[2] : ns);
  return 0;
}

/** setfsuid / setfsgid: always returns the previous fs id; changes it only when allowed. */
export function setFsId(c: Creds, k: IdKind, id: number): number {
  const old = k === 'uid' ? c.fsuid : c.fsgid;
  const [r, e, s] = ids(c, k);
  const allowed = id !== NO_ID && (c.privileged || id === r || id === e || id === s || id === old);
  if (allowed) {
    if (k === 'uid') c.fsuid = id;
    else c.fsgid = id;
  }
  return old;
}

const SIGCONT = 18;

/** check_kill_permission (kernel/signal.c): a sender may signal a process whose real or saved
 *  uid is its real or effective uid, any process with CAP_KILL (euid 0), and SIGCONT goes to
 *  any process of its session. `t` is the target's ids ([real, saved] uid) and session. */
export function maySignal(s: Creds, sSid: number, sig: number, t: { ruid: number; suid: number; sid: number }): boolean {
  if (s.privileged) return true;
  if (s.euid === t.suid || s.euid === t.ruid || s.ruid === t.suid || s.ruid === t.ruid) return true;
  return sig === SIGCONT && sSid === t.sid;
}

/** Whether guest process `p` may signal guest process `q` with `sig`. */
export function maySignalProcess(p: Process, q: Process, sig: number): boolean {
  return q === p || maySignal(p.creds, p.sid, sig, { ruid: q.creds.ruid, suid: q.creds.suid, sid: q.sid });
}
