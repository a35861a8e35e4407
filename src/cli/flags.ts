/**
 * One shape for a group of flags several commands share: the parseArgs
 * options, the help text that documents them and the reader that turns
 * their values into typed settings sit in one object, as cosign keeps each
 * options struct's fields beside its `AddFlags` (sigstore/cosign
 * cmd/cosign/cli/options/). A command parses its arguments against the
 * groups it takes plus its own options (`parseCommand`) and gets both the
 * raw values and each group's settings, so no command re-types a group's
 * value types or re-implements its reading.
 */
import type { ParseArgsConfig } from 'node:util';
import type { CliIO } from './io.ts';
import { parseFlags } from './options.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** The values parseArgs gives for `O`, as a command (or a group's reader) sees them. */
export type FlagValues<O extends Options> = ReturnType<typeof parseFlags<O>>['values'];

export interface FlagGroup<O extends Options, S> {
  readonly options: O;
  /** The group's lines in a command's `--help`. */
  readonly help: string;
  /** The settings the values ask for; throws `invalid` USAGE for values it refuses. */
  read(values: FlagValues<O>, io: CliIO): S | Promise<S>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any group, whatever its settings
type AnyGroup = FlagGroup<any, unknown>;
type Groups = Readonly<Record<string, AnyGroup>>;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (
  i: infer I,
) => void
  ? I
  : never;

/** Every option of the groups in `G`, as one parseArgs table. */
export type GroupOptions<G extends Groups> = UnionToIntersection<G[keyof G]['options']> & Options;

export type GroupSettings<G extends Groups> = {
  readonly [K in keyof G]: Awaited<ReturnType<G[K]['read']>>;
};

/** A command's arguments parsed against its groups and its own options. */
export async function parseCommand<G extends Groups, E extends Options>(
  args: readonly string[],
  io: CliIO,
  groups: G,
  own: E,
  allowPositionals = true,
) {
  const options = Object.assign(
    {},
    ...Object.values(groups).map((g) => g.options),
    own,
  ) as GroupOptions<G> & E;
  const { values, positionals } = parseFlags(args, options, allowPositionals);
  const settings: Record<string, unknown> = {};
  for (const [name, group] of Object.entries(groups)) {
    settings[name] = await group.read(values, io);
  }
  return { values, positionals, settings: settings as GroupSettings<G> };
}
