/**
 * Date shifting for Retain Longitudinal Temporal Information with Modified Dates (PS3.15 E.3.6).
 *
 * Every date of one patient moves by the same whole number of days (identity.dateOffsetDays), so
 * intervals between that patient's studies survive while the real dates do not. Times of day are
 * unchanged (a whole-day shift does not move them). A value that is not a date we can parse is
 * reported as unshiftable (null) and the engine empties it: an unparseable value must never pass
 * through unchanged.
 */

const DAY_MS = 86_400_000;

function shiftYmd(y: number, m: number, d: number, days: number): [number, number, number] | null {
  if (m < 1 || m > 12 || d < 1 || d > 31) return null;
  const t = Date.UTC(y, m - 1, d);
  const check = new Date(t);
  // Reject 20230231 and the like rather than silently rolling over.
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) return null;
  const shifted = new Date(t + days * DAY_MS);
  const sy = shifted.getUTCFullYear();
  if (sy < 1 || sy > 9999) return null;
  return [sy, shifted.getUTCMonth() + 1, shifted.getUTCDate()];
}

const p2 = (n: number) => String(n).padStart(2, '0');
const p4 = (n: number) => String(n).padStart(4, '0');

/** One DA value: YYYYMMDD (also the old ACR-NEMA YYYY.MM.DD, written back as YYYYMMDD). */
function shiftOneDate(v: string, days: number): string | null {
  const s = v.trim();
  if (s === '') return '';
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(s);
  if (!m) return null;
  const r = shiftYmd(+m[1], +m[2], +m[3], days);
  return r ? `${p4(r[0])}${p2(r[1])}${p2(r[2])}` : null;
}

/** A DA element value: multiple values ("\") and ranges ("A-B", "-B", "A-") are shifted piecewise. */
export function shiftDA(value: string, days: number): string | null {
  const out: string[] = [];
  for (const v of value.split('\\')) {
    if (v.includes('-')) {
      const parts = v.split('-');
      if (parts.length !== 2) return null;
      const a = shiftOneDate(parts[0], days);
      const b = shiftOneDate(parts[1], days);
      if (a === null || b === null) return null;
      out.push(`${a}-${b}`);
    } else {
      const a = shiftOneDate(v, days);
      if (a === null) return null;
      out.push(a);
    }
  }
  return out.join('\\');
}

/**
 * One DT value: YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]. The date part is shifted; a value with
 * only a year or year and month is shifted from its first day and written back at its own precision
 * (approximate, documented).
 */
function shiftOneDateTime(v: string, days: number): string | null {
  const s = v.trim();
  if (s === '') return '';
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?([+-]\d{4})?$/.exec(s);
  if (!m) return null;
  const [, y, mo, d, time = '', tz = ''] = m;
  if (d === undefined && time) return null;
  const r = shiftYmd(+y, mo ? +mo : 1, d ? +d : 1, days);
  if (!r) return null;
  let out = p4(r[0]);
  if (mo) out += p2(r[1]);
  if (d) out += p2(r[2]);
  return out + time + tz;
}

export function shiftDT(value: string, days: number): string | null {
  const out: string[] = [];
  for (const v of value.split('\\')) {
    const whole = shiftOneDateTime(v, days);
    if (whole !== null) {
      out.push(whole);
      continue;
    }
    // Ranges ("A-B", "-B", "A-") appear in queries rather than stored instances; accept them when
    // both halves parse, which also tells a range dash from a timezone sign.
    let done = false;
    for (let i = v.indexOf('-'); i >= 0 && !done; i = v.indexOf('-', i + 1)) {
      const a = shiftOneDateTime(v.slice(0, i), days);
      const b = shiftOneDateTime(v.slice(i + 1), days);
      if (a !== null && b !== null && (a !== '' || b !== '')) {
        out.push(`${a}-${b}`);
        done = true;
      }
    }
    if (!done) return null;
  }
  return out.join('\\');
}
