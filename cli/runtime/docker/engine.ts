/**
 * The Docker engine the lab talks to, through dockerode (never the docker CLI): the engine named by
 * DOCKER_HOST, else the local socket. A short ping tells whether it answers; an engine that does not
 * answer gets one line naming what was tried and what to do instead. The lab wires containers from this
 * host (their network namespaces), so the engine must run on this machine.
 */
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { QuicmeshError } from '../../../src/errors.js';

/** Label keys on everything the lab makes in the engine. */
export const LABEL = {
  lab: 'quicmesh-lab.lab',
  role: 'quicmesh-lab.role',
  machine: 'quicmesh-lab.machine',
  network: 'quicmesh-lab.network',
  image: 'quicmesh-lab.image',
} as const;

/** The engine does not answer, or cannot serve this lab. */
export class EngineUnavailableError extends QuicmeshError {}

/** What DOCKER_HOST or the default socket says, for messages ("unix:///var/run/docker.sock"). */
export function engineAddress(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DOCKER_HOST) return `DOCKER_HOST=${env.DOCKER_HOST}`;
  if (existsSync('/var/run/docker.sock')) return 'unix:///var/run/docker.sock';
  const home = env.HOME ? `${env.HOME}/.docker/run/docker.sock` : null;
  return home && existsSync(home) ? `unix://${home}` : 'unix:///var/run/docker.sock (absent)';
}

/**
 * Whether DOCKER_HOST points at this machine (a unix socket, or tcp to loopback). The lab enters containers'
 * network namespaces from here, which a remote engine's containers do not have.
 */
export function engineIsLocal(env: NodeJS.ProcessEnv = process.env): boolean {
  const host = env.DOCKER_HOST;
  if (!host || host.startsWith('unix://')) return true;
  try {
    const url = new URL(host.includes('//') ? host : `tcp://${host}`);
    return ['localhost', '127.0.0.1', '[::1]', '::1'].includes(url.hostname);
  } catch {
    return false;
  }
}

let client: Docker | null = null;

/** The shared dockerode client (no request timeout: image imports take seconds). */
export function docker(): Docker {
  client ??= new Docker();
  return client;
}

/** Does an engine answer within `timeoutMs`? Never throws. */
export async function engineAnswers(timeoutMs = 1500): Promise<boolean> {
  try {
    await new Docker({ timeout: timeoutMs }).ping();
    return true;
  } catch {
    return false;
  }
}

/** Throw a one-line EngineUnavailableError unless a local engine answers. */
export async function requireEngine(timeoutMs = 3000): Promise<void> {
  const where = engineAddress();
  if (!engineIsLocal()) {
    throw new EngineUnavailableError(
      `the docker backend wires containers from this machine, but ${where} is a remote engine; use a local engine or --backend netns`,
    );
  }
  if (!(await engineAnswers(timeoutMs))) {
    throw new EngineUnavailableError(
      `no Docker engine answers at ${where} (within ${timeoutMs / 1000} s); start dockerd, set DOCKER_HOST, or use --backend netns`,
    );
  }
}

/** A dockerode error's status code (404, 409, …), if it has one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The engine's own message from a dockerode error ("Pool overlaps with …"), else the error's. */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json;
  if (json && typeof json.message === 'string') return json.message;
  return err instanceof Error ? err.message : String(err);
}
