// Command-line options of the dinots CLI, parsed and validated before any work starts.
//
// Each subcommand declares its options once (kind, default, allowed range); parseCommand
// turns the argument strings into typed values and refuses, up front and with the option's
// name, anything that is not what the option expects: `--lr abc`, `--lr=-1`, `--heads 0`,
// an unknown option. `--help` / `-h` is recognised by every subcommand. Range messages
// come from the same checks as the library's own arguments (@dinots/tensor's validation).

import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type NumberRange, checkInteger, checkNumber } from '@dinots/tensor';

export type OptionSpec =
  | { kind: 'int' | 'number'; default?: number; range?: NumberRange; help: string }
  | { kind: 'string'; default?: string; help: string }
  /** A folder that must exist. */
  | { kind: 'folder'; default?: string; help: string }
  | { kind: 'flag'; help: string };

export type OptionValues<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K] extends { kind: 'int' | 'number' } ? number : S[K] extends { kind: 'flag' } ? boolean : string;
};

/** A mistake in how a command was called (exit code 2, its usage printed), as opposed to a failure while running. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

/** What parseCommand returns: `help` when --help was given (nothing else is parsed then). */
export type Parsed<S extends Record<string, OptionSpec>> =
  | { help: true }
  | { help: false; values: Partial<OptionValues<S>> & { [K in keyof S as S[K] extends { default: unknown } | { kind: 'flag' } ? K : never]: OptionValues<S>[K] }; positionals: string[] };

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses `args` of subcommand `command` against `specs`; `positionals` is how many operands it takes. */
export function parseCommand<S extends Record<string, OptionSpec>>(command: string, args: string[], specs: S, positionals = 0): Parsed<S> {
  const op = `dinots ${command}`;
  if (args.includes('--help') || args.includes('-h')) return { help: true };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: positionals > 0,
      strict: true,
      options: Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, { type: s.kind === 'flag' ? 'boolean' : 'string' }])),
    });
  } catch (error) {
    throw new UsageError(`${op}: ${(error as Error).message}`, command);
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(`${op}: expected ${positionals} operand${positionals === 1 ? '' : 's'}, got ${parsed.positionals.length}${parsed.positionals.length > 0 ? ` (${parsed.positionals.join(' ')})` : ''}`, command);
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const given = parsed.values[name];
    if (spec.kind === 'flag') {
      values[name] = given === true;
      continue;
    }
    if (given === undefined) {
      values[name] = spec.default;
      continue;
    }
    const text = given as string;
    if (spec.kind === 'int' || spec.kind === 'number') {
      if (!NUMBER.test(text.trim())) throw new UsageError(`${op}: --${name} expects ${spec.kind === 'int' ? 'an integer' : 'a number'}, got '${text}'`, command);
      const value = Number(text);
      try {
        (spec.kind === 'int' ? checkInteger : checkNumber)(op, `--${name}`, value, spec.range);
      } catch (error) {
        throw new UsageError((error as Error).message, command);
      }
      values[name] = value;
    } else {
      if (text === '') throw new UsageError(`${op}: --${name} expects a value`, command);
      if (spec.kind === 'folder' && !(existsSync(text) && statSync(text).isDirectory())) throw new UsageError(`${op}: --${name} '${text}' is not a folder`, command);
      values[name] = text;
    }
  }
  return { help: false, values: values as never, positionals: parsed.positionals };
}

/** One usage line per option, from the specs: `--name <kind> (default d)  help`. */
export function describeOptions(specs: Record<string, OptionSpec>): string {
  return Object.entries(specs)
    .map(([name, s]) => {
      const arg = s.kind === 'flag' ? '' : s.kind === 'folder' ? ' <folder>' : s.kind === 'string' ? ' <value>' : s.kind === 'int' ? ' <int>' : ' <number>';
      const def = 'default' in s && s.default !== undefined ? ` (default ${s.default})` : '';
      return `    --${name}${arg}`.padEnd(30) + `${s.help}${def}`;
    })
    .join('\n');
}
