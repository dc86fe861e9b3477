/**
 * Go's time.ParseDuration, as Reloader reads its pause-period annotation: a sequence of decimal
 * numbers with units (ns, us, µs, ms, s, m, h), e.g. "300ms", "1.5h", "1h30m", optionally signed.
 * Milliseconds out; undefined for anything Go would refuse.
 */
const UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

export function parseGoDuration(text: string): number | undefined {
  let s = text.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (m === null) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
  }
  return sign * total;
}
