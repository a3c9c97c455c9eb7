import { describe, expect, it } from 'vitest';
import { inWindow, nextWindowStart, parseSchedule, waitingForWindowUntil } from '@/lib/connectors/schedule';

const at = (day: number, hour: number) => {
  // 2026-11-22 is a Sunday (day 0).
  const d = new Date(2026, 10, 22 + day, hour, 30, 0, 0);
  expect(d.getDay()).toBe(day);
  return d;
};

describe('schedule windows (dcm4chee form)', () => {
  it('wraps hour ranges past midnight', () => {
    const s = 'hour=18-6 dayOfWeek=*';
    expect(inWindow(s, at(2, 19))).toBe(true);
    expect(inWindow(s, at(2, 3))).toBe(true);
    expect(inWindow(s, at(2, 6))).toBe(true);
    expect(inWindow(s, at(2, 7))).toBe(false);
    expect(inWindow(s, at(2, 17))).toBe(false);
  });

  it('combines windows with ";" (nights, and all weekend)', () => {
    const s = 'hour=18-6 dayOfWeek=1-5; dayOfWeek=0,6';
    expect(inWindow(s, at(0, 12))).toBe(true);
    expect(inWindow(s, at(6, 12))).toBe(true);
    expect(inWindow(s, at(3, 12))).toBe(false);
    expect(inWindow(s, at(3, 22))).toBe(true);
  });

  it('finds the next window start on the hour', () => {
    const s = 'hour=18-6 dayOfWeek=*';
    const n = nextWindowStart(s, at(2, 10));
    expect(n.getHours()).toBe(18);
    expect(n.getMinutes()).toBe(0);
    expect(n.getDay()).toBe(2);
    const now = at(2, 20);
    expect(nextWindowStart(s, now)).toBe(now);
  });

  it('rejects malformed schedules with a reason', () => {
    expect(parseSchedule('hour=25').ok).toBe(false);
    expect(parseSchedule('hours=1-2').ok).toBe(false);
    expect(parseSchedule('dayOfWeek=7').ok).toBe(false);
    expect(parseSchedule('').ok).toBe(false);
    expect(parseSchedule('hour=8-17 dayOfWeek=1-5').ok).toBe(true);
  });

  it('treats no schedule as always open', () => {
    expect(inWindow(null, at(3, 12))).toBe(true);
  });

  it('says until when work waits: the next opening, only while outside the window', () => {
    const s = 'hour=18-6 dayOfWeek=1-5; dayOfWeek=0,6';
    // Wednesday 10:30, outside: the same evening at 18:00.
    const wed = waitingForWindowUntil(s, at(3, 10));
    expect(wed).not.toBeNull();
    expect([wed!.getDay(), wed!.getHours(), wed!.getMinutes()]).toEqual([3, 18, 0]);
    // Inside a window (Wednesday night, or any time on Saturday): nothing to wait for.
    expect(waitingForWindowUntil(s, at(3, 22))).toBeNull();
    expect(waitingForWindowUntil(s, at(6, 12))).toBeNull();
    expect(waitingForWindowUntil(null, at(3, 10))).toBeNull();
    // Weekday daytime only: Friday evening waits for Monday 08:00 (over the weekend).
    const mon = waitingForWindowUntil('hour=8-17 dayOfWeek=1-5', at(5, 19));
    expect(mon!.getTime() - at(5, 19).getTime()).toBeGreaterThan(2 * 24 * 3600_000);
    expect([mon!.getDay(), mon!.getHours(), mon!.getMinutes()]).toEqual([1, 8, 0]);
  });
});
