// The family-independent part of sockets: the open file description of a socket (an OpenFile
// of kind 'socket', fd-table.ts) and the interface each address family implements
// (unix-socket.ts: AF_UNIX inside rvisor; inet-socket.ts: AF_INET/AF_INET6 on the host's network
// through host-net.ts). The system calls (syscalls/net.ts) parse the guest's arguments, then call
// the family. A family never blocks: an operation that must wait returns WAIT and the system
// call either fails with EAGAIN (O_NONBLOCK, MSG_DONTWAIT) or blocks the calling guest thread in
// the scheduler (a retry wait: the call is executed again when something changes, at the
// SO_RCVTIMEO/SO_SNDTIMEO deadline it fails with EAGAIN).
//
// Every socket has a generation number, bumped whenever its readiness may have changed (data or
// a connection arrived, room appeared, a shutdown or an error): epoll's edge-triggered mode
// reports a socket again only when its generation has moved (poll.ts).
import type { OpenFile } from './fd-table.js';
import type { Process } from './process.js';

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;

export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_MORE = 0x8000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;
/** Shutdown state bits (Linux's sk_shutdown). */
export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;

export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLRDNORM = 0x40;
export const POLLWRNORM = 0x100;
export const POLLRDHUP = 0x2000;
export const POLL_IN = POLLIN | POLLRDNORM;
export const POLL_OUT = POLLOUT | POLLWRNORM;

/** An operation that cannot complete yet. */
export const WAIT = 'wait' as const;
export type Wait = typeof WAIT;

/** struct ucred. */
export interface Cred {
  pid: number;
  uid: number;
  gid: number;
}

/** What a send carries besides bytes (AF_UNIX only). */
export interface Ancillary {
  /** SCM_RIGHTS: open file descriptions, one reference each held for the message. */
  rights: OpenFile[] | null;
  /** SCM_CREDENTIALS the sender gave (checked), or null. */
  cred: Cred | null;
}

/** One received message or stream read. */
export interface Received {
  data: Uint8Array;
  /** The whole message's length (datagrams: more than data.length when truncated). */
  full: number;
  /** The sender's address (sockaddr bytes), or null when there is none to report. */
  from: Uint8Array | null;
  /** Descriptions passed with SCM_RIGHTS (the receiver owns one reference each). */
  rights?: OpenFile[];
  /** The sender's credentials (when the receiver has SO_PASSCRED). */
  cred?: Cred;
}

/** A socket of one address family. Results: a value, -errno, or WAIT. */
export interface SockImpl {
  readonly domain: number;
  readonly type: number;
  readonly protocol: number;
  /** Generations: `gen` moves when input, a connection, a hangup or an error may have come;
   *  `wgen` when room to send may have appeared. */
  gen: number;
  wgen: number;
  /** SO_SNDBUF / SO_RCVBUF as getsockopt reports them. */
  sndbuf: number;
  rcvbuf: number;
  bind(p: Process, addr: Uint8Array): number;
  listen(p: Process, backlog: number): number;
  accept(p: Process): SockImpl | number | Wait;
  /** `nonblock`: a connection that cannot complete at once fails with EINPROGRESS (INET) or
   *  EAGAIN (a full AF_UNIX backlog) instead of WAIT. `again`: the call is the re-execution of
   *  a blocking connect of this thread (tid) that waited. */
  connect(p: Process, tid: number, addr: Uint8Array, nonblock: boolean): number | Wait;
  send(p: Process, data: Uint8Array, flags: number, to: Uint8Array | null, anc: Ancillary | null, nonblock: boolean): number | Wait;
  recv(p: Process, max: number, flags: number, nonblock: boolean): Received | number | Wait;
  shutdown(how: number): number;
  name(): Uint8Array;
  peerName(): Uint8Array | number;
  /** A family's own options (SOL_SOCKET ones the layer does not keep, IPPROTO_TCP, …). */
  getopt(p: Process, level: number, opt: number): Uint8Array | number;
  setopt(p: Process, level: number, opt: number, val: Uint8Array): number;
  /** SO_ERROR: the pending error (0 if none), cleared. */
  takeError(): number;
  readiness(): number;
  /** FIONREAD / SIOCINQ. */
  unread(): number;
  /** SO_ACCEPTCONN. */
  listening(): boolean;
  /** The last reference to the description is gone. */
  release(): void;
}

/** The open file description of a socket. */
export interface SocketFile {
  kind: 'socket';
  id: number;
  sk: SockImpl;
  flags: number;
  refs: number;
  /** SO_RCVTIMEO / SO_SNDTIMEO in nanoseconds (0: wait forever). */
  rcvtimeo: bigint;
  sndtimeo: bigint;
}

let nextGen = 1;
/** A fresh generation number (for SockImpl.gen). */
export function newGen(): number {
  return nextGen++;
}

/** The generations of a file for epoll's edge-triggered mode ([input, output]), or null when the
 *  file has none (edge-triggered interest in it then behaves as level-triggered). */
export function fileGen(f: OpenFile): [number, number] | null {
  return f.kind === 'socket' ? [f.sk.gen, f.sk.wgen] : null;
}
