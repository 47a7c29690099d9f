// Where a host keeps what clients need: the default state dir, the API socket and the TCP token.
// Kept apart from the server so that clients (the CLI) load no server code.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const SOCKET_NAME = 'rvisor.sock';
export const TOKEN_NAME = 'token';

export { defaultStateDir } from '../vmm/state-dir.js';

export function socketPath(stateDir: string): string {
  return join(stateDir, SOCKET_NAME);
}

export function tokenPath(stateDir: string): string {
  return join(stateDir, TOKEN_NAME);
}

/** The TCP listener's token: read from `<stateDir>/token`, or generated (256 random bits) and
 *  stored there with mode 0600 when absent. A token file readable by others is made 0600. */
export function loadOrCreateToken(stateDir: string): string {
  const path = tokenPath(stateDir);
  try {
    const st = statSync(path);
    if (st.mode & 0o077) chmodSync(path, 0o600);
    const token = readFileSync(path, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{20,}$/.test(token)) return token;
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(32).toString('base64url');
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, token + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return token;
}

/** Reads the token a client needs for a TCP host (undefined when the file is not there). */
export function readToken(stateDir: string): string | undefined {
  try {
    return readFileSync(tokenPath(stateDir), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

