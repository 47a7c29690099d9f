// The snapshot file's container (docs/snapshot-format.md): a 16-byte file header (magic, format
// version, header check) followed by sections, each with a 56-byte header (tag, flags, stored and
// raw lengths, SHA-256 over the header's first 24 bytes and the stored payload). The first section
// is META, the last END (a directory of every section, so truncation at a section boundary is seen
// too). Platform-neutral: bytes come from a ByteSource and go to a ByteSink, and hashing and
// compression are handed in (SnapshotCodec), so the same code can run in a browser later.
import { RvisorError } from '../errors.js';

/** "\x89RVSNAP\n": the high byte catches 7-bit transfers, the newline CR/LF rewriting. */
export const MAGIC = Uint8Array.from([0x89, 0x52, 0x56, 0x53, 0x4e, 0x41, 0x50, 0x0a]);
export const FORMAT_VERSION = 1;
export const FILE_HEADER = 16;
export const SECTION_HEADER = 56;
/** Section flags. */
export const F_DEFLATE = 1;
/** A reader that does not know the section's tag may skip it (later, compatible additions). */
export const F_OPTIONAL = 2;
const KNOWN_FLAGS = F_DEFLATE | F_OPTIONAL;
/** No section's raw payload may exceed this (a corrupt length must not make a reader allocate
 *  gigabytes). Memory is stored in PAGE sections of at most PAGES_PER_SECTION pages. */
export const MAX_SECTION_RAW = 64 * 1048576;
export const PAGES_PER_SECTION = 1024;

export interface SnapshotCodec {
  sha256(parts: Uint8Array[]): Uint8Array;
  deflate(raw: Uint8Array): Uint8Array;
  inflate(stored: Uint8Array, rawLength: number): Uint8Array;
}

export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset` (the caller stays within size). */
  read(offset: number, length: number): Uint8Array;
}

export interface ByteSink {
  write(bytes: Uint8Array): void;
}

export interface SectionRef {
  tag: string;
  flags: number;
  /** File offset of the section header. */
  offset: number;
  storedLength: number;
  rawLength: number;
  checksum: Uint8Array;
}

/** END's payload: every section before it, in order. */
export interface Directory {
  sections: { tag: string; offset: number; storedLength: number; rawLength: number; firstPage?: number; lastPage?: number; pages?: number }[];
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function corrupt(what: string, message: string): RvisorError {
  return new RvisorError('SNAPSHOT_CORRUPT', `${what}: ${message}`);
}

function headerCheck(codec: SnapshotCodec, first12: Uint8Array): number {
  const h = codec.sha256([first12]);
  return (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
}

// ---- writing ------------------------------------------------------------------------------------

export class SnapshotWriter {
  private offset = 0;
  private readonly dir: Directory = { sections: [] };

  constructor(private readonly sink: ByteSink, private readonly codec: SnapshotCodec) {
    const h = new Uint8Array(FILE_HEADER);
    const v = new DataView(h.buffer);
    h.set(MAGIC, 0);
    v.setUint32(8, FORMAT_VERSION, true);
    v.setUint32(12, headerCheck(codec, h.subarray(0, 12)), true);
    this.put(h);
  }

  private put(bytes: Uint8Array): void {
    this.sink.write(bytes);
    this.offset += bytes.length;
  }

  /** Appends a section; `compress` stores it deflated when that makes it smaller. */
  section(tag: string, raw: Uint8Array, opts: { compress?: boolean; optional?: boolean; pages?: { first: number; last: number; count: number } } = {}): void {
    if (!/^[A-Z0-9 ]{4}$/.test(tag)) throw new RvisorError('INTERNAL', `bad section tag ${JSON.stringify(tag)}`);
    if (raw.length > MAX_SECTION_RAW) throw new RvisorError('INTERNAL', `section ${tag} too large (${raw.length} bytes)`);
    let stored = raw;
    let flags = opts.optional ? F_OPTIONAL : 0;
    if (opts.compress) {
      const z = this.codec.deflate(raw);
      if (z.length < raw.length) {
        stored = z;
        flags |= F_DEFLATE;
      }
    }
    const h = new Uint8Array(SECTION_HEADER);
    const v = new DataView(h.buffer);
    h.set(enc.encode(tag), 0);
    v.setUint32(4, flags, true);
    v.setBigUint64(8, BigInt(stored.length), true);
    v.setBigUint64(16, BigInt(raw.length), true);
    h.set(this.codec.sha256([h.subarray(0, 24), stored]), 24);
    const entry: Directory['sections'][number] = { tag, offset: this.offset, storedLength: stored.length, rawLength: raw.length };
    if (opts.pages) Object.assign(entry, { firstPage: opts.pages.first, lastPage: opts.pages.last, pages: opts.pages.count });
    this.dir.sections.push(entry);
    this.put(h);
    this.put(stored);
  }

  json(tag: string, value: unknown): void {
    this.section(tag, enc.encode(JSON.stringify(value)), { compress: true });
  }

  /** Writes END (the directory); nothing may follow. Returns the file's size. */
  finish(): number {
    this.section('END ', enc.encode(JSON.stringify(this.dir)));
    return this.offset;
  }
}

// ---- reading ------------------------------------------------------------------------------------

export class SnapshotReader {
  /** Every section, in file order (END excluded), checked for structure but not yet for content
   *  (payload checksums are checked when a payload is read). */
  readonly sections: SectionRef[] = [];

  /** Checks the file header and walks every section header up to END, whose directory must
   *  describe exactly the sections found. Throws SNAPSHOT_FOREIGN, SNAPSHOT_VERSION or
   *  SNAPSHOT_CORRUPT naming `what` (the file). */
  constructor(private readonly src: ByteSource, private readonly codec: SnapshotCodec, readonly what: string) {
    if (src.size < MAGIC.length || !equal(src.read(0, MAGIC.length), MAGIC)) {
      throw new RvisorError('SNAPSHOT_FOREIGN', `${what} is not an rvisor snapshot (no snapshot magic at its start)`);
    }
    if (src.size < FILE_HEADER) throw corrupt(what, 'truncated inside the file header');
    const h = src.read(0, FILE_HEADER);
    const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
    if (v.getUint32(12, true) !== headerCheck(codec, h.subarray(0, 12))) throw corrupt(what, 'the file header\'s check does not match (corrupt)');
    const version = v.getUint32(8, true);
    if (version > FORMAT_VERSION) {
      throw new RvisorError('SNAPSHOT_VERSION', `${what} is in snapshot format ${version}, newer than this rvisor reads (${FORMAT_VERSION}); use a newer rvisor`);
    }
    if (version < 1) throw corrupt(what, `format version ${version} does not exist`);
    let at = FILE_HEADER;
    let end: SectionRef | undefined;
    while (!end) {
      if (at + SECTION_HEADER > src.size) throw corrupt(what, `truncated: ${src.size} bytes, a section header was due at ${at}`);
      const sh = src.read(at, SECTION_HEADER);
      const sv = new DataView(sh.buffer, sh.byteOffset, sh.byteLength);
      const tag = String.fromCharCode(...sh.subarray(0, 4));
      const flags = sv.getUint32(4, true);
      const stored = sv.getBigUint64(8, true), raw = sv.getBigUint64(16, true);
      const ref: SectionRef = { tag, flags, offset: at, storedLength: Number(stored), rawLength: Number(raw), checksum: sh.slice(24, 56) };
      const where = `section ${JSON.stringify(tag)} at offset ${at}`;
      if (!/^[A-Z0-9 ]{4}$/.test(tag) || (flags & ~KNOWN_FLAGS) !== 0 || raw > BigInt(MAX_SECTION_RAW) ||
          (!(flags & F_DEFLATE) && stored !== raw) || stored > BigInt(MAX_SECTION_RAW) + 65536n) {
        throw corrupt(what, `${where} has a malformed header`);
      }
      if (at + SECTION_HEADER + ref.storedLength > src.size) throw corrupt(what, `truncated: ${where} needs ${ref.storedLength} bytes, the file ends first`);
      if (this.sections.length === 0 && tag !== 'META') throw corrupt(what, `the first section is ${JSON.stringify(tag)}, not "META"`);
      at += SECTION_HEADER + ref.storedLength;
      if (tag === 'END ') end = ref;
      else this.sections.push(ref);
    }
    if (at !== src.size) throw corrupt(what, `${src.size - at} bytes follow the END section`);
    const dir = this.json<Directory>(end);
    const ok = Array.isArray(dir?.sections) && dir.sections.length === this.sections.length &&
      dir.sections.every((d, i) => {
        const s = this.sections[i]!;
        return d.tag === s.tag && d.offset === s.offset && d.storedLength === s.storedLength && d.rawLength === s.rawLength;
      });
    if (!ok) throw corrupt(what, 'the END directory does not describe the sections in the file');
    this.directory = dir;
  }

  readonly directory: Directory;

  /** The first section with this tag (SNAPSHOT_CORRUPT when missing). */
  find(tag: string): SectionRef {
    const s = this.sections.find((x) => x.tag === tag);
    if (!s) throw corrupt(this.what, `the ${JSON.stringify(tag)} section is missing`);
    return s;
  }

  /** A section's raw payload, its checksum verified. */
  payload(s: SectionRef): Uint8Array {
    const body = this.verify(s);
    const where = `section ${JSON.stringify(s.tag)} at offset ${s.offset}`;
    if (!(s.flags & F_DEFLATE)) return body;
    let raw: Uint8Array;
    try {
      raw = this.codec.inflate(body, s.rawLength);
    } catch (e) {
      throw corrupt(this.what, `${where}: cannot be decompressed (${(e as Error).message})`);
    }
    if (raw.length !== s.rawLength) throw corrupt(this.what, `${where}: decompresses to ${raw.length} bytes, not ${s.rawLength}`);
    return raw;
  }

  /** Checks a section's checksum (SNAPSHOT_CORRUPT when it fails); returns its stored payload. */
  verify(s: SectionRef): Uint8Array {
    const sh = this.src.read(s.offset, SECTION_HEADER);
    const body = this.src.read(s.offset + SECTION_HEADER, s.storedLength);
    const where = `section ${JSON.stringify(s.tag)} at offset ${s.offset}`;
    if (!equal(this.codec.sha256([sh.subarray(0, 24), body]), s.checksum)) throw corrupt(this.what, `${where}: checksum mismatch (the file is corrupt)`);
    return body;
  }

  json<T>(s: SectionRef): T {
    const raw = this.payload(s);
    try {
      return JSON.parse(dec.decode(raw)) as T;
    } catch (e) {
      throw corrupt(this.what, `section ${JSON.stringify(s.tag)}: not valid JSON (${(e as Error).message})`);
    }
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Encodes a PAGE section's raw payload: u32 count, count × u32 guest page numbers (ascending),
 *  then count × 4096 bytes of page contents. */
export function encodePages(indexes: number[], data: Uint8Array[]): Uint8Array {
  const n = indexes.length;
  const out = new Uint8Array(4 + 4 * n + 4096 * n);
  const v = new DataView(out.buffer);
  v.setUint32(0, n, true);
  indexes.forEach((p, i) => v.setUint32(4 + 4 * i, p, true));
  data.forEach((d, i) => out.set(d, 4 + 4 * n + 4096 * i));
  return out;
}

/** Calls fn(page number, 4096 bytes) for each page of a PAGE payload; checks its shape. */
export function decodePages(raw: Uint8Array, pagesInRam: number, what: string, fn: (page: number, bytes: Uint8Array) => void): number {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw.length < 4) throw corrupt(what, 'a PAGE section is too short');
  const n = v.getUint32(0, true);
  if (raw.length !== 4 + 4 * n + 4096 * n) throw corrupt(what, `a PAGE section of ${n} pages is ${raw.length} bytes`);
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const p = v.getUint32(4 + 4 * i, true);
    if (p <= prev || p >= pagesInRam) throw corrupt(what, `a PAGE section names page ${p} (out of order or beyond the RAM's ${pagesInRam} pages)`);
    prev = p;
    const at = 4 + 4 * n + 4096 * i;
    fn(p, raw.subarray(at, at + 4096));
  }
  return n;
}
