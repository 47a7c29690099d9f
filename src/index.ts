// The package's programmatic API. In-process: `openHost` runs a host (VMs on pCPU worker threads)
// in this process. Remote: `connect` reaches a `rvisor serve` over its Unix socket or TCP and
// offers the same verbs as promises. Both speak the types of src/vmm/types.ts and report failures
// as RvisorError with a stable code.
export { openHost } from './vmm/host.js';
export { connect, type ConnectOptions, type RemoteConsole, type RemoteHostApi } from './api/client.js';
export { startApi, defaultStateDir, type ApiListeners, type ListenOptions } from './api/listen.js';
export { buildApi, openApiDocument, type ApiOptions } from './api/server.js';
export { RvisorError, ERROR_CODES, type ErrorCode } from './errors.js';
export type * from './vmm/types.js';
export type { HostInfo } from './api/schemas.js';
