// A small WebAssembly binary writer for the JIT: one module with imported memory and functions
// and one exported function, whose body is written as opcodes with named labels. Encoding per the
// WebAssembly core specification 2.0, chapter 5 (binary format): LEB128 integers (5.2.2), the
// module's sections (5.5), instructions (5.4).

/** Value types (spec 5.3.1). */
export const I32 = 0x7f;
export const I64 = 0x7e;
export type ValType = typeof I32 | typeof I64;

/** Opcodes used by the JIT (spec 5.4). */
export const Op = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, br_if: 0x0d,
  br_table: 0x0e, return: 0x0f, call: 0x10, drop: 0x1a, select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22,
  i32_load: 0x28, i64_load: 0x29, i32_load8_s: 0x2c, i32_load8_u: 0x2d, i32_load16_s: 0x2e, i32_load16_u: 0x2f,
  i64_load8_s: 0x30, i64_load8_u: 0x31, i64_load16_s: 0x32, i64_load16_u: 0x33, i64_load32_s: 0x34, i64_load32_u: 0x35,
  i32_store: 0x36, i64_store: 0x37, i64_store8: 0x3c, i64_store16: 0x3d, i64_store32: 0x3e,
  i32_const: 0x41, i64_const: 0x42,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_u: 0x49, i32_gt_u: 0x4b, i32_le_s: 0x4c, i32_le_u: 0x4d,
  i64_eqz: 0x50, i64_eq: 0x51, i64_ne: 0x52, i64_lt_s: 0x53, i64_lt_u: 0x54, i64_ge_s: 0x59, i64_ge_u: 0x5a,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d, i32_div_u: 0x6e, i32_rem_s: 0x6f, i32_rem_u: 0x70, i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73, i32_shl: 0x74, i32_shr_s: 0x75, i32_shr_u: 0x76,
  i64_add: 0x7c, i64_sub: 0x7d, i64_mul: 0x7e, i64_div_s: 0x7f, i64_div_u: 0x80, i64_rem_s: 0x81, i64_rem_u: 0x82, i64_and: 0x83, i64_or: 0x84, i64_xor: 0x85,
  i64_shl: 0x86, i64_shr_s: 0x87, i64_shr_u: 0x88,
  i32_wrap_i64: 0xa7, i64_extend_i32_s: 0xac, i64_extend_i32_u: 0xad,
} as const;

const BLOCKTYPE_EMPTY = 0x40;

/** Growable byte buffer with LEB128 writers. */
export class Bytes {
  private buf = new Uint8Array(4096);
  length = 0;

  byte(b: number): void {
    if (this.length === this.buf.length) {
      const n = new Uint8Array(this.buf.length * 2);
      n.set(this.buf);
      this.buf = n;
    }
    this.buf[this.length++] = b;
  }

  bytes(b: ArrayLike<number>): void {
    if (b instanceof Uint8Array) {
      while (this.length + b.length > this.buf.length) {
        const n = new Uint8Array(this.buf.length * 2);
        n.set(this.buf);
        this.buf = n;
      }
      this.buf.set(b, this.length);
      this.length += b.length;
      return;
    }
    for (let i = 0; i < b.length; i++) this.byte(b[i]!);
  }

  /** Unsigned LEB128 (spec 5.2.2) of a non-negative integer below 2^32. */
  u32(v: number): void {
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
  }

  /** Signed LEB128 of a 32-bit integer. */
  s32(v: number): void {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }

  /** Signed LEB128 of a 64-bit integer (a number when it is a safe integer). */
  s64(v: bigint | number): void {
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) { this.s32(v); return; }
      v = BigInt(v);
    }
    if (v >= -0x80000000n && v <= 0x7fffffffn) { this.s32(Number(v)); return; }
    v = BigInt.asIntN(64, v);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }

  name(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u32(b.length);
    this.bytes(b);
  }

  /** A section or vector: its byte length, then its bytes. */
  sized(inner: Bytes): void {
    this.u32(inner.length);
    this.bytes(inner.view());
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** A function body under construction: locals, then instructions; structured labels are named so
 *  branches say where they go and the writer counts the depth. */
export class Body {
  readonly code = new Bytes();
  private readonly labels: (string | undefined)[] = [];
  /** Stack position of each named label open now. */
  private readonly named = new Map<string, number>();
  private readonly locals: ValType[] = [];

  constructor(private readonly params: readonly ValType[]) {}

  /** A new local of type t; returns its index. */
  local(t: ValType): number {
    this.locals.push(t);
    return this.params.length + this.locals.length - 1;
  }

  op(o: number): this {
    this.code.byte(o);
    return this;
  }

  get(i: number): this { this.code.byte(Op.local_get); this.code.u32(i); return this; }
  set(i: number): this { this.code.byte(Op.local_set); this.code.u32(i); return this; }
  tee(i: number): this { this.code.byte(Op.local_tee); this.code.u32(i); return this; }
  i32(v: number): this { this.code.byte(Op.i32_const); this.code.s32(v); return this; }
  i64(v: bigint | number): this { this.code.byte(Op.i64_const); this.code.s64(v); return this; }
  call(f: number): this { this.code.byte(Op.call); this.code.u32(f); return this; }

  /** A load or store with natural alignment log2 `align` and a constant offset. */
  mem(o: number, align: number, offset: number): this {
    this.code.byte(o);
    this.code.u32(align);
    this.code.u32(offset);
    return this;
  }

  block(label?: string): this { this.code.byte(Op.block); this.code.byte(BLOCKTYPE_EMPTY); return this.open(label); }
  loop(label?: string): this { this.code.byte(Op.loop); this.code.byte(BLOCKTYPE_EMPTY); return this.open(label); }
  if(label?: string): this { this.code.byte(Op.if); this.code.byte(BLOCKTYPE_EMPTY); return this.open(label); }
  else(): this { this.code.byte(Op.else); return this; }
  end(): this {
    this.code.byte(Op.end);
    const l = this.labels.pop();
    if (l !== undefined) this.named.delete(l);
    return this;
  }

  private open(label: string | undefined): this {
    if (label !== undefined) {
      if (this.named.has(label)) throw new Error(`jit: label ${label} is already open`);
      this.named.set(label, this.labels.length);
    }
    this.labels.push(label);
    return this;
  }

  depth(label: string): number {
    const at = this.named.get(label);
    if (at === undefined) throw new Error(`jit: no enclosing label ${label}`);
    return this.labels.length - 1 - at;
  }

  br(label: string): this { this.code.byte(Op.br); this.code.u32(this.depth(label)); return this; }
  brIf(label: string): this { this.code.byte(Op.br_if); this.code.u32(this.depth(label)); return this; }

  /** br_table over labels (by name), with a default. */
  brTable(targets: readonly string[], dflt: string): this {
    this.code.byte(Op.br_table);
    this.code.u32(targets.length);
    for (const t of targets) this.code.u32(this.depth(t));
    this.code.u32(this.depth(dflt));
    return this;
  }

  /** The body as the code section wants it: locals (run-length encoded), instructions, end. */
  encode(): Bytes {
    const out = new Bytes();
    const runs: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    out.u32(runs.length);
    for (const [n, t] of runs) { out.u32(n); out.byte(t); }
    out.bytes(this.code.view());
    out.byte(Op.end);
    return out;
  }
}

export interface FuncImport {
  name: string;
  params: readonly ValType[];
  result?: ValType;
}

export interface FuncDef {
  params: readonly ValType[];
  result: ValType;
  body: Body;
}

/** A module importing env.memory (shared, up to maxPages) and `imports` from env, defining one
 *  function `run` (exported). Imported functions are indices 0..imports.length-1, `run` is the
 *  next. */
export function writeModule(imports: readonly FuncImport[], run: FuncDef, maxPages: number): Uint8Array {
  const m = new Bytes();
  m.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  // types: one per distinct signature
  const sigKeys: string[] = [];
  const sigs: { params: readonly ValType[]; result?: ValType }[] = [];
  const typeOf = (params: readonly ValType[], result?: ValType) => {
    const k = `${params.join(',')}>${result ?? ''}`;
    let i = sigKeys.indexOf(k);
    if (i < 0) { i = sigKeys.length; sigKeys.push(k); sigs.push({ params, result }); }
    return i;
  };
  const importTypes = imports.map((f) => typeOf(f.params, f.result));
  const runType = typeOf(run.params, run.result);
  const types = new Bytes();
  types.u32(sigs.length);
  for (const s of sigs) {
    types.byte(0x60);
    types.u32(s.params.length);
    for (const p of s.params) types.byte(p);
    if (s.result === undefined) types.u32(0);
    else { types.u32(1); types.byte(s.result); }
  }
  section(m, 1, types);
  const imp = new Bytes();
  imp.u32(imports.length + 1);
  imp.name('env'); imp.name('memory'); imp.byte(0x02); imp.byte(0x03); imp.u32(1); imp.u32(maxPages); // shared, min 1
  imports.forEach((f, i) => { imp.name('env'); imp.name(f.name); imp.byte(0x00); imp.u32(importTypes[i]!); });
  section(m, 2, imp);
  const fns = new Bytes();
  fns.u32(1);
  fns.u32(runType);
  section(m, 3, fns);
  const exp = new Bytes();
  exp.u32(1); exp.name('run'); exp.byte(0x00); exp.u32(imports.length);
  section(m, 7, exp);
  const code = new Bytes();
  code.u32(1);
  code.sized(run.body.encode());
  section(m, 10, code);
  return m.view().slice();
}

function section(m: Bytes, id: number, content: Bytes): void {
  m.byte(id);
  m.sized(content);
}
