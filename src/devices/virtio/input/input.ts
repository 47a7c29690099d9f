// virtio-input (virtio 1.2 §5.8), device id 18: an evdev-shaped input device. Queue 0 (eventq)
// carries device → driver events in device-writable buffers, one 8-byte virtio_input_event each
// (le16 type, le16 code, le32 value); queue 1 (statusq) carries driver → device events (LEDs and
// the like) in device-readable buffers, which this device takes and ignores. The configuration
// space answers the driver's (select, subsel) questions: name, serial, ids, property bits, and per
// event type the bitmap of codes the device can send.
//
// rvisor uses it as a power button (`powerButton()`: EV_KEY with KEY_POWER, plus EV_SYN): the host
// presses the key (key down, SYN_REPORT, key up, SYN_REPORT) and a stock guest mechanism acts on
// it (busybox acpid, systemd-logind). Events the host sends while the driver has posted no buffer
// wait in the device's state (bounded); events sent while no driver is running are dropped, as a
// key pressed at a machine with no OS listening is.
import type { Stateful } from '../../device.js';
import { writeToChain } from '../queue/chain.js';
import { VIRTIO_ID_INPUT, type VirtioDevice, type VirtioHost } from '../transport/virtio-device.js';

export const INPUT_EVENTQ = 0;
export const INPUT_STATUSQ = 1;

/** §5.8.5: enum virtio_input_config_select. */
export const VIRTIO_INPUT_CFG_UNSET = 0x00;
export const VIRTIO_INPUT_CFG_ID_NAME = 0x01;
export const VIRTIO_INPUT_CFG_ID_SERIAL = 0x02;
export const VIRTIO_INPUT_CFG_ID_DEVIDS = 0x03;
export const VIRTIO_INPUT_CFG_PROP_BITS = 0x10;
export const VIRTIO_INPUT_CFG_EV_BITS = 0x11;
export const VIRTIO_INPUT_CFG_ABS_INFO = 0x12;

/** Configuration layout: select u8, subsel u8, size u8, reserved[5], then a 128-byte union. */
export const INPUT_CFG_SELECT = 0;
export const INPUT_CFG_SUBSEL = 1;
export const INPUT_CFG_SIZE = 2;
export const INPUT_CFG_UNION = 8;
export const INPUT_CFG_UNION_SIZE = 128;
export const INPUT_EVENT_SIZE = 8;

/** Linux evdev codes (include/uapi/linux/input-event-codes.h), the ones used here. */
export const EV_SYN = 0x00;
export const EV_KEY = 0x01;
export const SYN_REPORT = 0;
export const KEY_POWER = 116;
/** include/uapi/linux/input.h: the bus type of a virtual device. */
export const BUS_VIRTUAL = 0x06;

export interface InputEvent {
  type: number;
  code: number;
  value: number;
}

export interface InputDeviceIds {
  bustype: number;
  vendor: number;
  product: number;
  version: number;
}

export interface VirtioInputOptions {
  /** ID_NAME (at most 128 bytes of ASCII; Linux shows it as the input device's name). */
  name: string;
  /** ID_SERIAL (absent: size 0). */
  serial?: string;
  ids?: InputDeviceIds;
  /** Per event type (EV_*), the codes the device can send: the EV_BITS bitmaps. */
  events: ReadonlyMap<number, readonly number[]>;
  queueSize?: number;
  /** Most events kept while the driver posts no buffer (default 128); a report that does not fit
   *  whole is dropped whole. */
  maxPendingEvents?: number;
}

export interface VirtioInputState {
  select: number;
  subsel: number;
  /** Events sent by the host, not yet delivered: [type, code, value]. */
  pending: [number, number, number][];
  /** Events delivered to the driver and events dropped (no driver, or the backlog was full). */
  delivered: number;
  dropped: number;
}

export class VirtioInput implements VirtioDevice, Stateful<VirtioInputState> {
  readonly deviceId = VIRTIO_ID_INPUT;
  readonly numQueues = 2;
  readonly features = 0n;
  delivered = 0;
  dropped = 0;
  private host: VirtioHost | undefined;
  private readonly queueSize: number;
  private readonly maxPending: number;
  private readonly name: Uint8Array;
  private readonly serial: Uint8Array;
  private readonly ids: InputDeviceIds;
  /** Per event type, its code bitmap (trailing zero bytes trimmed). */
  private readonly bitmaps = new Map<number, Uint8Array>();
  private select = 0;
  private subsel = 0;
  /** The configuration bytes for the current (select, subsel). */
  private config = new Uint8Array(INPUT_CFG_UNION + INPUT_CFG_UNION_SIZE);
  private pending: InputEvent[] = [];

  constructor(options: VirtioInputOptions) {
    this.queueSize = options.queueSize ?? 64;
    this.maxPending = options.maxPendingEvents ?? 128;
    const ascii = (s: string) => Uint8Array.from(s.slice(0, INPUT_CFG_UNION_SIZE), (c) => c.charCodeAt(0) & 0x7f);
    this.name = ascii(options.name);
    this.serial = ascii(options.serial ?? '');
    this.ids = options.ids ?? { bustype: BUS_VIRTUAL, vendor: 0, product: 0, version: 0 };
    for (const [type, codes] of options.events) {
      if (!Number.isInteger(type) || type < 0 || type > 0xff) throw new RangeError(`event type ${type}`);
      const bits = new Uint8Array(INPUT_CFG_UNION_SIZE);
      let top = 0;
      for (const c of codes) {
        if (!Number.isInteger(c) || c < 0 || c >= INPUT_CFG_UNION_SIZE * 8) throw new RangeError(`event code ${c}`);
        bits[c >> 3]! |= 1 << (c & 7);
        top = Math.max(top, (c >> 3) + 1);
      }
      this.bitmaps.set(type, bits.slice(0, top));
    }
    this.updateConfig();
  }

  queueMaxSize(): number {
    return this.queueSize;
  }
  attach(host: VirtioHost): void {
    this.host = host;
  }

  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const o = offset + i;
      v = v * 256 + (o >= 0 && o < this.config.length ? this.config[o]! : 0);
    }
    return v >>> 0;
  }

  /** Only select and subsel are writable (§5.8.5.1: the driver writes them, then reads size). */
  writeConfig(offset: number, value: number, size: number): void {
    let changed = false;
    for (let i = 0; i < size; i++) {
      const o = offset + i, b = (value >>> (8 * i)) & 0xff;
      if (o === INPUT_CFG_SELECT) { this.select = b; changed = true; }
      else if (o === INPUT_CFG_SUBSEL) { this.subsel = b; changed = true; }
    }
    if (changed) this.updateConfig();
  }

  reset(): void {
    this.select = this.subsel = 0;
    this.updateConfig();
    this.dropped += this.pending.length; // meant for a driver that is gone
    this.pending = [];
  }

  /** Whether the device sends events of this type and code. */
  offers(type: number, code: number): boolean {
    const bits = this.bitmaps.get(type);
    return !!bits && code >= 0 && (code >> 3) < bits.length && ((bits[code >> 3]! >> (code & 7)) & 1) === 1;
  }

  /** Host → guest: sends events as one batch. Returns false, sending nothing, when an event is
   *  one the device does not offer, when no driver is running (DRIVER_OK and the event queue
   *  live), or when the batch does not fit in the backlog. */
  send(events: readonly InputEvent[]): boolean {
    for (const e of events) {
      if (!this.offers(e.type, e.code) || !Number.isInteger(e.value) || e.value < -0x80000000 || e.value > 0x7fffffff) return false;
    }
    if (!this.host?.queue(INPUT_EVENTQ) || this.pending.length + events.length > this.maxPending) {
      this.dropped += events.length;
      return false;
    }
    for (const e of events) this.pending.push({ type: e.type, code: e.code, value: e.value });
    this.deliver();
    return true;
  }

  /** A key press and release, each followed by SYN_REPORT (what a keyboard sends). */
  pressKey(code: number): boolean {
    return this.send([
      { type: EV_KEY, code, value: 1 }, { type: EV_SYN, code: SYN_REPORT, value: 0 },
      { type: EV_KEY, code, value: 0 }, { type: EV_SYN, code: SYN_REPORT, value: 0 },
    ]);
  }

  notify(index: number): void {
    if (index === INPUT_EVENTQ) this.deliver();
    else if (index === INPUT_STATUSQ) this.takeStatus();
  }

  save(): VirtioInputState {
    return {
      select: this.select, subsel: this.subsel,
      pending: this.pending.map((e) => [e.type, e.code, e.value]),
      delivered: this.delivered, dropped: this.dropped,
    };
  }
  restore(s: VirtioInputState): void {
    this.select = s.select & 0xff;
    this.subsel = s.subsel & 0xff;
    this.updateConfig();
    this.pending = s.pending.slice(0, this.maxPending)
      .map(([type, code, value]) => ({ type: type & 0xffff, code: code & 0xffff, value: value | 0 }))
      .filter((e) => this.offers(e.type, e.code));
    this.delivered = s.delivered;
    this.dropped = s.dropped;
  }

  private updateConfig(): void {
    const c = new Uint8Array(INPUT_CFG_UNION + INPUT_CFG_UNION_SIZE);
    c[INPUT_CFG_SELECT] = this.select;
    c[INPUT_CFG_SUBSEL] = this.subsel;
    let data: Uint8Array | undefined;
    switch (this.select) {
      case VIRTIO_INPUT_CFG_ID_NAME: if (this.subsel === 0) data = this.name; break;
      case VIRTIO_INPUT_CFG_ID_SERIAL: if (this.subsel === 0) data = this.serial; break;
      case VIRTIO_INPUT_CFG_ID_DEVIDS:
        if (this.subsel === 0) {
          data = new Uint8Array(8);
          const v = new DataView(data.buffer);
          [this.ids.bustype, this.ids.vendor, this.ids.product, this.ids.version].forEach((x, i) => v.setUint16(2 * i, x & 0xffff, true));
        }
        break;
      case VIRTIO_INPUT_CFG_EV_BITS: data = this.bitmaps.get(this.subsel); break;
      // PROP_BITS: no input properties; ABS_INFO: no absolute axes; UNSET and the rest: size 0
    }
    if (data) {
      c[INPUT_CFG_SIZE] = data.length;
      c.set(data, INPUT_CFG_UNION);
    }
    this.config = c;
  }

  private deliver(): void {
    const host = this.host;
    const vq = host?.queue(INPUT_EVENTQ);
    if (!host || !vq || this.pending.length === 0) return;
    const ev = new Uint8Array(INPUT_EVENT_SIZE), view = new DataView(ev.buffer);
    while (this.pending.length > 0) {
      const chain = vq.pop();
      if (!chain) break;
      const e = this.pending[0]!;
      view.setUint16(0, e.type, true);
      view.setUint16(2, e.code, true);
      view.setInt32(4, e.value, true);
      // A buffer too small for an event (never posted by Linux) goes back empty; the event waits.
      const ok = chain.writableBytes >= INPUT_EVENT_SIZE && writeToChain(host.mem, chain.writable, 0, ev);
      if (ok) {
        this.pending.shift();
        this.delivered++;
      }
      if (!vq.push(chain.head, ok ? INPUT_EVENT_SIZE : 0)) break;
    }
    host.queueUsed(INPUT_EVENTQ);
  }

  /** Status events from the driver (LEDs, sounds): this device has none to act on. */
  private takeStatus(): void {
    const host = this.host;
    const vq = host?.queue(INPUT_STATUSQ);
    if (!host || !vq) return;
    for (let chain = vq.pop(); chain; chain = vq.pop()) {
      if (!vq.push(chain.head, 0)) break;
    }
    host.queueUsed(INPUT_STATUSQ);
  }
}

/** The power button rvisor's board carries: EV_KEY with KEY_POWER only (and EV_SYN). */
export function powerButton(options: { queueSize?: number } = {}): VirtioInput {
  return new VirtioInput({
    name: 'rvisor power button',
    ids: { bustype: BUS_VIRTUAL, vendor: 0, product: 1, version: 1 },
    events: new Map([[EV_SYN, [SYN_REPORT]], [EV_KEY, [KEY_POWER]]]),
    queueSize: options.queueSize,
  });
}
