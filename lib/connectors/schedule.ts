/**
 * Schedule windows in dcm4chee's form: "hour=18-6 dayOfWeek=*" (hours 0-23, days 0-6 with
 * 0 = Sunday). Several windows may be given separated by commas or semicolons: the job may run
 * when any window matches ("hour=18-6 dayOfWeek=1-5, hour=* dayOfWeek=0,6" is not supported
 * because of the comma ambiguity; use ";" between windows). A range a-b with a > b wraps
 * (18-6 = 18..23 and 0..6). Times are the worker's local time zone.
 */
export interface ScheduleWindow {
  hours: Set<number>;
  days: Set<number>;
}

function parseField(spec: string, min: number, max: number): Set<number> | null {
  const out = new Set<number>();
  if (spec === '*') {
    for (let i = min; i <= max; i++) out.add(i);
    return out;
  }
  for (const part of spec.split(',')) {
    const m = /^(\d{1,2})(?:-(\d{1,2}))?$/.exec(part.trim());
    if (!m) return null;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < min || a > max || b < min || b > max) return null;
    if (a <= b) for (let i = a; i <= b; i++) out.add(i);
    else {
      for (let i = a; i <= max; i++) out.add(i);
      for (let i = min; i <= b; i++) out.add(i);
    }
  }
  return out;
}

export function parseSchedule(spec: string): { ok: true; windows: ScheduleWindow[] } | { ok: false; error: string } {
  const windows: ScheduleWindow[] = [];
  for (const w of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
    let hours: Set<number> | null = parseField('*', 0, 23);
    let days: Set<number> | null = parseField('*', 0, 6);
    for (const tok of w.split(/\s+/)) {
      const m = /^(hour|dayOfWeek)=(.+)$/.exec(tok);
      if (!m) return { ok: false, error: `Unknown schedule term "${tok}"` };
      if (m[1] === 'hour') hours = parseField(m[2], 0, 23);
      else days = parseField(m[2], 0, 6);
      if (!hours || !days) return { ok: false, error: `Invalid ${m[1]} value "${m[2]}"` };
    }
    windows.push({ hours: hours!, days: days! });
  }
  if (!windows.length) return { ok: false, error: 'Empty schedule' };
  return { ok: true, windows };
}

export function inWindow(spec: string | null | undefined, at: Date = new Date()): boolean {
  if (!spec) return true;
  const p = parseSchedule(spec);
  if (!p.ok) return true;
  return p.windows.some((w) => w.hours.has(at.getHours()) && w.days.has(at.getDay()));
}

/** The next moment (on the hour) at which the schedule allows work; `at` itself if it does now. */
export function nextWindowStart(spec: string | null | undefined, at: Date = new Date()): Date {
  if (inWindow(spec, at)) return at;
  const t = new Date(at);
  t.setMinutes(0, 0, 0);
  for (let i = 0; i < 24 * 8; i++) {
    t.setHours(t.getHours() + 1);
    if (inWindow(spec, t)) return t;
  }
  return at;
}

/**
 * When work for a connector must wait for its window: the next window opening, or null when the
 * schedule allows work at `at` (no schedule, or inside a window). This is what the query page
 * shows as "scheduled for …"; the jobs themselves are delayed to the same moment.
 */
export function waitingForWindowUntil(spec: string | null | undefined, at: Date = new Date()): Date | null {
  if (inWindow(spec, at)) return null;
  return nextWindowStart(spec, at);
}
