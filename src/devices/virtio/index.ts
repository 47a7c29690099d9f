// The public surface of rvisor's virtio devices (the machine wires them; see each file's header).
export * from './queue/virtqueue.js';
export * from './queue/chain.js';
export * from './transport/virtio-device.js';
export * from './transport/mmio.js';
export * from './transport/fdt.js';
export * from './blk/backend.js';
export * from './blk/blk.js';
export * from './rng/rng.js';
export * from './console/console.js';
export * from './input/input.js';
export * from './balloon/balloon.js';
export * from './balloon/stats.js';
