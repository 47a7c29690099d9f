// Exposes the floating-point unit of the wasm core to tests (compiled by scripts/build.mjs into
// dist/wasm/fpu-harness.wasm).  The fflags word lives wherever the caller says (tests use 65536).
export {
  f32_add, f32_sub, f32_mul, f32_div, f32_sqrt, f32_madd, f32_min, f32_max,
  f32_eq, f32_lt, f32_le, f32_class, f32_to_i32, f32_to_u32, f32_to_i64, f32_to_u64,
  i32_to_f32, u32_to_f32, i64_to_f32, u64_to_f32,
  f64_add, f64_sub, f64_mul, f64_div, f64_sqrt, f64_madd, f64_min, f64_max,
  f64_eq, f64_lt, f64_le, f64_class, f64_to_i32, f64_to_u32, f64_to_i64, f64_to_u64,
  i32_to_f64, u32_to_f64, i64_to_f64, u64_to_f64,
  f64_to_f32, f32_to_f64,
} from '../../src/cpu/as/fpu';
