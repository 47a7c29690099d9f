// Lazy restore (docs/snapshot-format.md): a restored machine's stored pages are read from the
// snapshot on first touch. lazyPages() describes a snapshot's PAGE sections from its END directory
// (nothing of the pages is read); LazyPageSource finds the one section holding a page, reads it,
// checks its checksum, inflates it and copies the page out, keeping the last sections it inflated
// in a cache shared by the sources of one thread. Platform-neutral: bytes come from a ByteSource.
import type { LazyPages, LazySection, PageSource } from '../machine/ram.js';
import { RvisorError } from '../errors.js';
import { decodePages, F_DEFLATE, SECTION_HEADER, type ByteSource, type SnapshotCodec, type SnapshotReader } from './format.js';

const PAGE = 4096;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The PAGE sections of the snapshot `r` reads, as a lazily restored machine's RAM names them
 *  (`path` and `fd`: the file, open in this process for as long as the machine may need it).
 *  Each section's checksum is verified (SNAPSHOT_CORRUPT), nothing is inflated. */
export function lazyPages(r: SnapshotReader, path: string, fd: number, pagesInRam: number): LazyPages {
  const sections: LazySection[] = [];
  let prev = -1;
  r.sections.forEach((s, i) => {
    if (s.tag !== 'PAGE') return;
    const d = r.directory.sections[i]!;
    const first = d.firstPage, last = d.lastPage;
    if (!Number.isInteger(first) || !Number.isInteger(last) || first! <= prev || last! < first! || last! >= pagesInRam) {
      throw new RvisorError('SNAPSHOT_CORRUPT', `${r.what}: the END directory gives a PAGE section at offset ${s.offset} no valid page range (a lazy restore needs it)`);
    }
    prev = last!;
    // Checked now, as an eager restore would (a corrupt file is refused before anything runs);
    // not inflated or copied. The lazy reads check the checksum again (the file may change).
    r.verify(s);
    sections.push({ offset: s.offset, storedLength: s.storedLength, rawLength: s.rawLength, flags: s.flags, checksum: hex(s.checksum), first: first!, last: last! });
  });
  return { path, fd, sections };
}

/** One PAGE section, inflated: its page numbers and the payload they index. */
interface Inflated {
  index: Uint32Array;
  raw: Uint8Array;
}

/** The last few sections inflated on this thread (keyed by file and checksum). */
export class SectionCache {
  private readonly entries: { key: string; v: Inflated }[] = [];
  constructor(private readonly max = 2) {}
  get(key: string, make: () => Inflated): Inflated {
    const i = this.entries.findIndex((e) => e.key === key);
    if (i >= 0) {
      const [e] = this.entries.splice(i, 1);
      this.entries.unshift(e!);
      return e!.v;
    }
    const v = make();
    this.entries.unshift({ key, v });
    this.entries.length = Math.min(this.entries.length, this.max);
    return v;
  }
}

export class LazyPageSource implements PageSource {
  constructor(private readonly d: LazyPages, private readonly src: ByteSource, private readonly codec: SnapshotCodec,
    private readonly pagesInRam: number, private readonly cache = new SectionCache()) {}

  private fail(m: string): RvisorError {
    return new RvisorError('SNAPSHOT_CORRUPT', `snapshot ${this.d.path} (lazy restore): ${m}`);
  }

  private inflate(s: LazySection): Inflated {
    return this.cache.get(`${this.d.path}:${this.d.fd}:${s.checksum}`, () => {
      let sh: Uint8Array, body: Uint8Array;
      try {
        sh = this.src.read(s.offset, SECTION_HEADER);
        body = this.src.read(s.offset + SECTION_HEADER, s.storedLength);
      } catch (e) {
        throw this.fail(`cannot read the PAGE section at offset ${s.offset} (${(e as Error).message}); was the file truncated or changed?`);
      }
      if (hex(this.codec.sha256([sh.subarray(0, 24), body])) !== s.checksum || hex(sh.subarray(24, 56)) !== s.checksum) {
        throw this.fail(`the PAGE section at offset ${s.offset} no longer matches its checksum (the file changed since the restore)`);
      }
      let raw = body;
      if (s.flags & F_DEFLATE) {
        try {
          raw = this.codec.inflate(body, s.rawLength);
        } catch (e) {
          throw this.fail(`the PAGE section at offset ${s.offset} cannot be decompressed (${(e as Error).message})`);
        }
      }
      if (raw.length !== s.rawLength) throw this.fail(`the PAGE section at offset ${s.offset} is ${raw.length} bytes, not ${s.rawLength}`);
      const pages: number[] = [];
      decodePages(raw, this.pagesInRam, `snapshot ${this.d.path}`, (p) => pages.push(p));
      return { index: Uint32Array.from(pages), raw };
    });
  }

  private sectionOf(page: number): LazySection | undefined {
    const ss = this.d.sections;
    let lo = 0, hi = ss.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = ss[mid]!;
      if (page < s.first) hi = mid - 1;
      else if (page > s.last) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  load(page: number, dst: Uint8Array): boolean {
    const s = this.sectionOf(page);
    if (!s) return false;
    const { index, raw } = this.inflate(s);
    let lo = 0, hi = index.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = index[mid]!;
      if (page < p) hi = mid - 1;
      else if (page > p) lo = mid + 1;
      else {
        const at = 4 + 4 * index.length + PAGE * mid;
        dst.set(raw.subarray(at, at + PAGE));
        return true;
      }
    }
    return false;
  }

  stored(fn: (index: number) => void): void {
    for (const s of this.d.sections) {
      for (const p of this.inflate(s).index) fn(p);
    }
  }
}
