/**
 * The node's identity on disk: the raw 32-byte Ed25519 secret key, created on first run with mode
 * 0600 so the NodeId survives restarts. Any problem reading it is a ConfigError naming the file.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { ConfigError } from '../../src/errors.js';
import { Keypair } from '../../src/identity/keypair.js';

export const KEY_FILE_BYTES = 32;

export interface LoadedKey {
  keypair: Keypair;
  /** True when the file did not exist and was written now. */
  created: boolean;
  /** True when group or others may read the file (worth a warning). */
  exposed: boolean;
}

export async function loadOrCreateKey(path: string): Promise<LoadedKey> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw new ConfigError(`cannot read key file ${path}: ${reason(err)}`, { cause: err });
    return { keypair: await createKeyFile(path), created: true, exposed: false };
  }
  if (data.length !== KEY_FILE_BYTES) {
    throw new ConfigError(
      `key file ${path} holds ${data.length} bytes; expected ${KEY_FILE_BYTES} (a raw Ed25519 secret key)`,
    );
  }
  const mode = (await stat(path)).mode;
  return { keypair: Keypair.fromSecretKeyBytes(new Uint8Array(data)), created: false, exposed: (mode & 0o077) !== 0 };
}

async function createKeyFile(path: string): Promise<Keypair> {
  const secret = new Uint8Array(randomBytes(KEY_FILE_BYTES));
  try {
    // 'wx': never overwrite a key another process created meanwhile.
    await writeFile(path, secret, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if (errno(err) === 'EEXIST') return (await loadOrCreateKey(path)).keypair;
    throw new ConfigError(`cannot create key file ${path}: ${reason(err)}`, { cause: err });
  }
  return Keypair.fromSecretKeyBytes(secret);
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function reason(err: unknown): string {
  const code = errno(err);
  const messages: Record<string, string> = {
    EACCES: 'permission denied',
    EISDIR: 'it is a directory',
    ENOENT: 'no such directory',
    ENOTDIR: 'a path component is not a directory',
  };
  return (code && messages[code]) ?? (err instanceof Error ? err.message : String(err));
}
