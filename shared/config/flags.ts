/**
 * One parser for every subcommand's flags and their environment variables. A flag `--foo-bar`
 * is also read from `CONFIGSTAMP_FOO_BAR`; the command line wins. Every bad value is reported at
 * once (fastify's initial-config-validation does the same) and the result is frozen. Nothing
 * else in configstamp reads process.env.
 */
import { ConfigstampError, ErrorCodes } from '../errors.js';
import { normaliseSelector, parseLabelSelector } from '../core/selector.js';
import type { LabelSelector } from '../core/selector.js';

export type FlagType = 'string' | 'int' | 'port' | 'bool' | 'duration' | 'list' | 'selector' | 'enum';

export interface FlagSpec {
  readonly name: string;
  readonly type: FlagType;
  readonly default: unknown;
  readonly help: string;
  /** Other names users know, e.g. Reloader's --auto-reload-all. */
  readonly aliases?: readonly string[];
  readonly choices?: readonly string[];
  readonly min?: number;
  /** A string flag that may not be empty (a file path, a name). */
  readonly required?: boolean;
  /** Environment variable; defaults to CONFIGSTAMP_<NAME>. */
  readonly env?: string;
  /** Other environment variables read when the main one is unset (Reloader's), first found wins. */
  readonly envAliases?: readonly string[];
  /**
   * Another product's flag (Reloader's), accepted so its settings carry over as they are. Listed
   * apart in --help. When given, `notice` may return one startup warning that says what
   * configstamp does instead; undefined means it works with the same meaning.
   */
  readonly compat?: boolean;
  readonly notice?: (value: FlagValue) => string | undefined;
}

export type FlagValue = string | number | boolean | readonly string[] | LabelSelector | null;

export function envName(spec: FlagSpec): string {
  return spec.env ?? `CONFIGSTAMP_${spec.name.toUpperCase().replace(/-/g, '_')}`;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations ("500ms", "2s", "5m", "1h"); "0" alone is zero. Milliseconds out. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const m = DURATION.exec(t);
  if (!m) throw new Error(`"${text}" is not a duration (use e.g. 500ms, 2s, 5m, 1h)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

/**
 * A boolean as Go's strconv.ParseBool reads it (Reloader's flags: 1, t, T, TRUE, true, True, and
 * their false forms), any case, plus yes/no. Undefined for anything else.
 */
export function parseBool(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === 't' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === 'f' || v === '0' || v === 'no') return false;
  return undefined;
}

/**
 * A comma list as pflag's string slices read it (one CSV record): a field in double quotes may
 * hold commas, and the quotes go. Reloader's chart quotes --namespace-selector values so.
 */
export function csvFields(raw: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of raw) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      fields.push(current);
      current = '';
    } else current += ch;
  }
  fields.push(current);
  return fields;
}

/** Kinds whose repeated flags add up, as pflag's string slices do; others: the last one wins. */
const REPEATABLE: ReadonlySet<FlagType> = new Set(['list', 'selector']);

function convert(spec: FlagSpec, raw: string): FlagValue {
  switch (spec.type) {
    case 'string':
      if (spec.required && raw.trim() === '') throw new Error('must not be empty');
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not a whole number`);
      const n = Number(raw);
      if (spec.min !== undefined && n < spec.min) throw new Error(`${n} is below the minimum ${spec.min}`);
      return n;
    }
    case 'port': {
      const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!(n >= 0 && n <= 65535)) throw new Error(`${raw} is not a TCP port (0 picks a free one)`);
      return n;
    }
    case 'bool': {
      const v = parseBool(raw);
      if (v === undefined) throw new Error(`"${raw}" is not true or false`);
      return v;
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (spec.min !== undefined && ms < spec.min) throw new Error(`${raw} is below the minimum ${spec.min} ms`);
      return ms;
    }
    case 'list':
      return Object.freeze(
        csvFields(raw)
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      );
    case 'selector': {
      const text = csvFields(raw).join(',');
      return text.trim() === '' ? null : parseLabelSelector(normaliseSelector(text));
    }
    case 'enum': {
      // Case does not matter (Reloader's logrus levels are read that way); the choice is returned as listed.
      const choice = spec.choices?.find((c) => c.toLowerCase() === raw.trim().toLowerCase());
      if (choice === undefined) throw new Error(`"${raw}" is not one of ${spec.choices?.map((c) => (c === '' ? '""' : c)).join(', ')}`);
      return choice;
    }
  }
}

/** The value a flag of each type parses to. */
export type ValueOf<T extends FlagType> = T extends 'string' | 'enum'
  ? string
  : T extends 'int' | 'port' | 'duration'
    ? number
    : T extends 'bool'
      ? boolean
      : T extends 'list'
        ? readonly string[]
        : T extends 'selector'
          ? LabelSelector | null
          : never;

/**
 * The parsed values of a flag table, typed from it: `values['patch-qps']` is a number, and a name
 * that is not in the table does not compile. Tables are written `as const satisfies readonly
 * FlagSpec[]` so their names and types stay literal.
 */
export type FlagValues<S extends readonly FlagSpec[]> = { readonly [K in S[number] as K['name']]: ValueOf<K['type']> };

export interface ParsedFlags<S extends readonly FlagSpec[] = readonly FlagSpec[]> {
  readonly values: FlagValues<S>;
  readonly help: boolean;
  /** One startup warning per given compatibility flag that configstamp honours differently. */
  readonly warnings: readonly string[];
  /** The flags given (by their main name), from the command line or the environment. */
  readonly given: ReadonlySet<string>;
}

/** Parses argv (without the subcommand) and env against the specs; throws CS_ERR_CONFIG listing every problem. */
export function parseFlags<const S extends readonly FlagSpec[]>(
  specs: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedFlags<S> {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) for (const n of [spec.name, ...(spec.aliases ?? [])]) byName.set(n, spec);
  const problems: string[] = [];
  const raw = new Map<string, { text: string; from: string }>();
  for (const spec of specs) {
    const name = [envName(spec), ...(spec.envAliases ?? [])].find((n) => env[n] !== undefined);
    if (name !== undefined) raw.set(spec.name, { text: env[name]!, from: `$${name}` });
  }
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument "${arg}" (flags start with --)`);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = arg.slice(2, eq < 0 ? undefined : eq);
    let text = eq < 0 ? undefined : arg.slice(eq + 1);
    let spec = byName.get(name);
    if (spec === undefined && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'bool' && text === undefined) {
      spec = byName.get(name.slice(3));
      name = name.slice(3);
      text = 'false';
    }
    if (spec === undefined) {
      problems.push(`unknown flag --${name}`);
      continue;
    }
    if (text === undefined) {
      // A bare boolean is true; `--flag false` as two words also works (configstamp takes no
      // positional arguments, and Reloader's string-typed booleans are written so).
      if (spec.type === 'bool') text = i + 1 < argv.length && parseBool(argv[i + 1]!) !== undefined ? argv[++i]! : 'true';
      else if (i + 1 < argv.length) text = argv[++i]!;
      else {
        problems.push(`--${name} needs a value`);
        continue;
      }
    }
    const prev = raw.get(spec.name);
    // A repeated list or selector flag adds to what the command line gave before (not to the env).
    if (prev !== undefined && prev.from.startsWith('--') && REPEATABLE.has(spec.type)) text = `${prev.text},${text}`;
    raw.set(spec.name, { text, from: `--${name}` });
  }
  const values: Record<string, FlagValue> = {};
  const warnings: string[] = [];
  for (const spec of specs) {
    const given = raw.get(spec.name);
    if (given === undefined) {
      values[spec.name] = spec.default as FlagValue;
      continue;
    }
    try {
      values[spec.name] = convert(spec, given.text);
      const notice = spec.notice?.(values[spec.name]!);
      if (notice !== undefined) warnings.push(`${given.from}: ${notice}`);
    } catch (err) {
      problems.push(`${given.from}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigstampError(ErrorCodes.CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  // Each value was converted by its spec's type above: the record is the table's FlagValues.
  return Object.freeze({ values: Object.freeze(values) as FlagValues<S>, help, warnings: Object.freeze(warnings), given: new Set(raw.keys()) });
}

/** Help text: one line per flag with its env var and default. */
export function formatHelp(command: string, summary: string, specs: readonly FlagSpec[]): string {
  const lines = [`Usage: configstamp ${command} [flags]`, '', summary, '', 'Flags (each also read from its environment variable):'];
  const describe = (s: FlagSpec): void => {
    const def = s.default === null || s.default === '' ? '' : ` (default ${Array.isArray(s.default) ? s.default.join(',') || '""' : formatDefault(s)})`;
    const alias = s.aliases?.length ? `, --${s.aliases.join(', --')}` : '';
    const envs = [envName(s), ...(s.envAliases ?? [])].map((e) => `$${e}`).join(', ');
    lines.push(`  --${s.name}${alias}  [${envs}]`, `      ${s.help}${def}`);
  };
  specs.filter((s) => !s.compat).forEach(describe);
  const compat = specs.filter((s) => s.compat);
  if (compat.length > 0) {
    lines.push('', "Stakater Reloader's flags, accepted as they are (docs/migrating-from-reloader.md):");
    compat.forEach(describe);
  }
  return lines.join('\n');
}

function formatDefault(s: FlagSpec): string {
  if (s.type === 'duration' && typeof s.default === 'number') return `${s.default}ms`;
  return String(s.default);
}
