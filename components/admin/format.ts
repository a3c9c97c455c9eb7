/**
 * Date formatting for admin/account tables. Call it in server components and pass the string to
 * client components, so server and browser render the same text (no hydration mismatch).
 */
const pad = (n: number) => String(n).padStart(2, '0');

export function formatDateTime(d: Date | string | null | undefined, seconds = false): string {
  if (!d) return '';
  const t = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(t.getTime())) return '';
  const base = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}`;
  return seconds ? `${base}:${pad(t.getSeconds())}` : base;
}

export function formatDate(d: Date | string | null | undefined): string {
  return formatDateTime(d).slice(0, 10);
}

