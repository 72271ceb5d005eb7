/** Errors of the lab runtime: a host command failed, or a tool the lab needs is missing. */
import { QuicmeshError } from '../../src/errors.js';

/** A command the lab ran failed; carries argv and stderr so the message says what and why. */
export class LabCommandError extends QuicmeshError {
  constructor(
    readonly argv: string[],
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(`command failed (exit ${code ?? 'signal'}): ${argv.join(' ')}\n${stderr.trim()}`);
  }
}

/** A required host tool is not installed; the message names the Debian package to install. */
export class MissingToolError extends QuicmeshError {
  constructor(
    readonly tool: string,
    readonly debianPackage: string,
  ) {
    super(`"${tool}" not found: install it with \`apt-get install ${debianPackage}\``);
  }
}

/** The lab needs root (namespaces, NAT rules). */
export class NotRootError extends QuicmeshError {}
