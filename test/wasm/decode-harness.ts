// Exposes the generated decoder of the wasm core to tests (compiled by scripts/build.mjs).
export { decode, expand_c } from '../../src/cpu/as/generated/decode';
