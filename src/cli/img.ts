// `rvisor img create|convert|info|check`: disk images for VMs, in the spirit of `qemu-img` (the same
// verbs, options and exit statuses where they overlap), so users need no other tool to make a raw
// disk, a qcow2 disk or a copy-on-write overlay over a base image.
import * as fs from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { RvisorError } from '../errors.js';
import { diskFiles, openDisk, DISK_FORMATS, type DiskFormat, type HostDisk } from '../host/disk/host-disk.js';
import { createQcow2 } from '../host/disk/qcow2-create.js';
import { createImageFile } from '../host/disk/image-file.js';
import { checkQcow2 } from '../host/disk/qcow2-check.js';
import { incompatibleNames, isQcow2Magic, readHeader } from '../host/disk/qcow2-format.js';

export const IMG_USAGE = `usage: rvisor img VERB [options]
  create [-f raw|qcow2] [-b BACKING [-F raw|qcow2]] [--cluster-size BYTES] FILE [SIZE]
        a new image (never overwrites). SIZE: bytes, or with a unit K, M, G, T (binary);
        with -b (qcow2 only) a copy-on-write overlay: reads come from BACKING until written,
        SIZE defaults to the backing image's; BACKING is stored as given and a relative
        name is relative to FILE's directory. Default format qcow2, clusters 64K.
  convert [-f raw|qcow2] [-O raw|qcow2] [--cluster-size BYTES] [-p] SRC DST
        copies SRC's content (through its backing chain) into a new image DST (default
        raw); all-zero stretches stay unallocated (sparse). -p: a progress bar
  info [--json] FILE
        format, virtual size, size on disk, and the backing chain
  check FILE
        recounts a qcow2 image's cluster references against its refcounts; exit status
        0 clean, 2 corrupt, 3 leaked clusters only (as qemu-img check)`;

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** An image size: a whole number of bytes with an optional binary unit (K, M, G, T). */
export function imageSize(text: string): number {
  const m = /^(\d+)([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new RvisorError('USAGE', `image size ${text}: expected bytes or a size such as 512M or 10G`);
  const bytes = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new RvisorError('USAGE', `image size ${text} is not a usable size`);
  if (bytes % 512 !== 0) throw new RvisorError('USAGE', `image size ${text} is not a whole number of 512-byte sectors`);
  return bytes;
}

function format(text: string | undefined, what: string): DiskFormat | undefined {
  if (text === undefined) return undefined;
  if (!DISK_FORMATS.includes(text as DiskFormat)) throw new RvisorError('USAGE', `${what} ${text}: expected raw or qcow2`);
  return text as DiskFormat;
}

export async function imgCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    if (verb === undefined) throw new RvisorError('USAGE', `img: no verb given\n${IMG_USAGE}`);
    process.stdout.write(IMG_USAGE + '\n');
    return 0;
  }
  let p;
  try {
    p = parseArgs({
      args: rest, allowPositionals: true, strict: true,
      options: {
        f: { type: 'string', short: 'f' }, b: { type: 'string', short: 'b' }, F: { type: 'string', short: 'F' }, O: { type: 'string', short: 'O' },
        'cluster-size': { type: 'string' }, json: { type: 'boolean' }, p: { type: 'boolean', short: 'p' },
      },
    });
  } catch (e) {
    throw new RvisorError('USAGE', `img ${verb}: ${(e as Error).message}\n${IMG_USAGE}`);
  }
  const v = p.values, pos = p.positionals;
  switch (verb) {
    case 'create': {
      if (pos.length < 1 || pos.length > 2) throw new RvisorError('USAGE', `img create expects FILE [SIZE]\n${IMG_USAGE}`);
      const file = pos[0]!;
      const fmt = format(v.f, '-f') ?? 'qcow2';
      if (v.b === undefined && v.F !== undefined) throw new RvisorError('USAGE', 'img create: -F needs -b');
      if (v.b !== undefined && fmt !== 'qcow2') throw new RvisorError('USAGE', 'img create: a backing file (-b) needs -f qcow2');
      let size = pos[1] !== undefined ? imageSize(pos[1]) : undefined;
      let backing: { name: string; format: DiskFormat } | undefined;
      if (v.b !== undefined) {
        const bpath = isAbsolute(v.b) ? v.b : resolve(dirname(file), v.b);
        if (!fs.existsSync(bpath)) {
          const hint = !isAbsolute(v.b) && fs.existsSync(v.b) ? ` (a relative backing name is relative to the new image's directory, not the current one: give '${resolve(v.b)}')` : '';
          throw new RvisorError('ENOENT_FILE', `backing file '${bpath}' does not exist${hint}`);
        }
        const bfmt = format(v.F, '-F');
        const b = openDisk(bpath, { readOnly: true, ...(bfmt ? { format: bfmt } : {}) });
        backing = { name: v.b, format: b.format };
        size ??= Math.ceil(b.size / 512) * 512;
        b.close();
      }
      if (size === undefined) throw new RvisorError('USAGE', 'img create: SIZE is needed without a backing file');
      const clusterBits = clusterBitsOf(v['cluster-size'], fmt);
      if (fmt === 'raw') createRaw(file, size);
      else createQcow2(file, { size, ...(clusterBits !== undefined ? { clusterBits } : {}), ...(backing ? { backing } : {}) });
      process.stdout.write(`Formatting '${file}', fmt=${fmt} size=${size}${backing ? ` backing_file=${backing.name} backing_fmt=${backing.format}` : ''}\n`);
      return 0;
    }
    case 'convert': {
      if (pos.length !== 2) throw new RvisorError('USAGE', `img convert expects SRC DST\n${IMG_USAGE}`);
      const [srcPath, dst] = pos as [string, string];
      const ofmt = format(v.O, '-O') ?? 'raw';
      const sfmt = format(v.f, '-f');
      const clusterBits = clusterBitsOf(v['cluster-size'], ofmt);
      if (v.b !== undefined || v.F !== undefined) throw new RvisorError('USAGE', 'img convert: -b and -F belong to img create');
      const src = openDisk(srcPath, { readOnly: true, ...(sfmt ? { format: sfmt } : {}) });
      try {
        const size = Math.ceil(src.size / 512) * 512;
        if (ofmt === 'raw') createRaw(dst, size);
        else createQcow2(dst, { size, ...(clusterBits !== undefined ? { clusterBits } : {}) });
        try {
          convert(src, dst, ofmt, v.p === true);
        } catch (e) {
          fs.rmSync(dst, { force: true }); // a half-written image is no image
          throw e;
        }
      } finally {
        src.close();
      }
      return 0;
    }
    case 'info': {
      if (pos.length !== 1) throw new RvisorError('USAGE', `img info expects FILE\n${IMG_USAGE}`);
      const d = openDisk(pos[0]!, { readOnly: true });
      try {
        const chain = diskFiles(d).map(describe);
        if (v.json) process.stdout.write(JSON.stringify(chain, null, 2) + '\n');
        else process.stdout.write(chain.map((c, i) => (i ? '\n' : '') + text(c)).join('') );
      } finally {
        d.close();
      }
      return 0;
    }
    case 'check': {
      if (pos.length !== 1) throw new RvisorError('USAGE', `img check expects FILE\n${IMG_USAGE}`);
      const file = pos[0]!;
      const head = new Uint8Array(4);
      try {
        const fd = fs.openSync(file, 'r');
        fs.readSync(fd, head, 0, 4, 0);
        fs.closeSync(fd);
      } catch (e) {
        throw new RvisorError('ENOENT_FILE', `cannot read '${file}': ${(e as Error).message}`);
      }
      if (!isQcow2Magic(head)) throw new RvisorError('BAD_IMAGE', `'${file}' is not a qcow2 image: a raw image has no metadata to check`);
      const r = checkQcow2(file);
      for (const e of r.errors) process.stdout.write(`ERROR ${e}\n`);
      if (r.leaks) process.stdout.write(`${r.leaks} leaked cluster(s) (stored refcount above the references: space lost, no harm to data)\n`);
      if (!r.errors.length && !r.leaks) process.stdout.write('No errors were found on the image.\n');
      else if (r.errors.length) process.stdout.write(`${r.errors.length} error(s) were found on the image.\n`);
      process.stdout.write(`${r.dataClusters}/${r.virtualClusters} clusters allocated (${r.compressedClusters} compressed); image end offset: ${r.fileSize}\n`);
      return r.errors.length ? 2 : r.leaks ? 3 : 0;
    }
    default:
      throw new RvisorError('USAGE', `img: unknown verb "${verb}" (create, convert, info, check)`);
  }
}

function clusterBitsOf(text: string | undefined, fmt: DiskFormat): number | undefined {
  if (text === undefined) return undefined;
  const bits = Math.log2(imageSize(text));
  if (!Number.isInteger(bits) || bits < 9 || bits > 21) throw new RvisorError('USAGE', `--cluster-size ${text}: a power of two from 512 to 2M`);
  if (fmt !== 'qcow2') throw new RvisorError('USAGE', '--cluster-size needs the qcow2 format');
  return bits;
}

/** Copies src's content into the new image at dst, 1 MiB at a time; 64 KiB pieces that are all
 *  zero are not written (a raw file stays sparse there, a qcow2 image unallocated). */
function convert(src: HostDisk, dst: string, fmt: DiskFormat, progress: boolean): void {
  const out = openDisk(dst, { format: fmt });
  const bar = progress ? new SingleBar({ format: 'converting [{bar}] {percentage}% | {value}/{total} MiB', hideCursor: true, stream: process.stderr }) : undefined;
  const STEP = 1 << 20, PIECE = 65536;
  bar?.start(Math.ceil(src.size / STEP), 0);
  try {
    const buf = new Uint8Array(STEP);
    for (let off = 0; off < src.size; off += STEP) {
      const chunk = buf.subarray(0, Math.min(STEP, src.size - off));
      if (!src.read(off, chunk)) throw new RvisorError('BAD_IMAGE', `cannot read '${src.path}' at ${off}: ${src.lastError?.message ?? 'I/O error'}`);
      for (let p = 0; p < chunk.length; p += PIECE) {
        const piece = chunk.subarray(p, Math.min(p + PIECE, chunk.length));
        if (allZero(piece)) continue;
        if (!out.write(off + p, piece)) throw new RvisorError('DISK_OPEN', `cannot write '${dst}' at ${off + p}: ${out.lastError?.message ?? 'I/O error'}`);
      }
      bar?.update(Math.floor(off / STEP) + 1);
    }
    if (!out.flush()) throw new RvisorError('DISK_OPEN', `cannot flush '${dst}': ${out.lastError?.message ?? 'I/O error'}`);
  } finally {
    bar?.stop();
    out.close();
  }
}

function allZero(b: Uint8Array): boolean {
  const words = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2); // pieces start 64K-aligned
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  for (let i = words.length * 4; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function createRaw(file: string, size: number): void {
  const fd = createImageFile(file);
  try {
    fs.ftruncateSync(fd, size); // sparse: no block is written
  } finally {
    fs.closeSync(fd);
  }
}

interface ImageDescription {
  filename: string;
  format: DiskFormat;
  'virtual-size': number;
  'actual-size': number;
  'cluster-size'?: number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
  'format-specific'?: { version: number; 'refcount-bits': number; 'incompatible-features': string[]; 'internal-snapshots': number };
}

function describe(d: HostDisk): ImageDescription {
  const st = fs.statSync(d.path);
  const out: ImageDescription = { filename: d.path, format: d.format, 'virtual-size': d.size, 'actual-size': st.blocks * 512 };
  if (d.format === 'qcow2') {
    const fd = fs.openSync(d.path, 'r');
    try {
      const h = readHeader(fd, d.path, st.size);
      out['cluster-size'] = 2 ** h.clusterBits;
      if (h.backingName !== null) out['backing-filename'] = h.backingName;
      if (h.backingFormat !== null) out['backing-filename-format'] = h.backingFormat;
      out['format-specific'] = { version: h.version, 'refcount-bits': 2 ** h.refcountOrder, 'incompatible-features': incompatibleNames(h.incompatible), 'internal-snapshots': h.nbSnapshots };
    } finally {
      fs.closeSync(fd);
    }
  }
  return out;
}

function text(c: ImageDescription): string {
  const mib = (n: number) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(n % 2 ** 20 ? 1 : 0)} MiB (${n} bytes)` : `${n} bytes`);
  let s = `image: ${c.filename}\nfile format: ${c.format}\nvirtual size: ${mib(c['virtual-size'])}\ndisk size: ${mib(c['actual-size'])}\n`;
  if (c['cluster-size'] !== undefined) s += `cluster_size: ${c['cluster-size']}\n`;
  if (c['backing-filename'] !== undefined) s += `backing file: ${c['backing-filename']}\n`;
  if (c['backing-filename-format'] !== undefined) s += `backing file format: ${c['backing-filename-format']}\n`;
  const f = c['format-specific'];
  if (f) s += `qcow2 version: ${f.version}\nrefcount bits: ${f['refcount-bits']}\n${f['incompatible-features'].length ? `incompatible features: ${f['incompatible-features'].join(', ')}\n` : ''}${f['internal-snapshots'] ? `internal snapshots: ${f['internal-snapshots']}\n` : ''}`;
  return s;
}
