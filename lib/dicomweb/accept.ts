/**
 * Accept header negotiation for DICOMweb (PS3.18 8.7). Tributary serves what it stores: the
 * de-identified file in its stored transfer syntax, never transcoded. A client that accepts any
 * syntax (`transfer-syntax=*`, what Weasis and OHIF send) or does not name one gets the stored
 * bytes; a client that demands one specific other syntax gets 406.
 */
import { notAcceptable } from './errors';

export interface MediaRange {
  /** e.g. "multipart/related", "application/dicom", "*\/*" (lower case). */
  mediaType: string;
  /** Parameter names lower case; values unquoted, case kept. */
  params: Record<string, string>;
  q: number;
}

/** Splits on `sep` outside double quotes. */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    if (ch === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function parseMediaType(text: string): { mediaType: string; params: Record<string, string> } {
  const [head, ...rest] = splitOutsideQuotes(text, ';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const i = p.indexOf('=');
    if (i <= 0) continue;
    let v = p.slice(i + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    params[p.slice(0, i).trim().toLowerCase()] = v;
  }
  return { mediaType: head.trim().toLowerCase(), params };
}

/** Media ranges by preference (q descending, then as written); q=0 ranges are dropped. A missing header means "anything". */
export function parseAccept(header: string | null | undefined): MediaRange[] {
  if (!header || !header.trim()) return [{ mediaType: '*/*', params: {}, q: 1 }];
  const ranges = splitOutsideQuotes(header, ',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part, index) => {
      const { mediaType, params } = parseMediaType(part);
      const q = params.q !== undefined ? Number(params.q) : 1;
      delete params.q;
      return { mediaType, params, q: Number.isFinite(q) ? q : 1, index };
    })
    .filter((r) => r.q > 0);
  ranges.sort((a, b) => b.q - a.q || a.index - b.index);
  return ranges.map(({ mediaType, params, q }) => ({ mediaType, params, q }));
}

function matches(range: string, actual: string): boolean {
  if (range === '*/*' || range === actual) return true;
  const [t, s] = range.split('/');
  return s === '*' && actual.startsWith(`${t}/`);
}

/** QIDO and metadata: DICOM JSON only (XML is not offered). */
export function requireJson(header: string | null): void {
  const ok = parseAccept(header).some((r) => ['application/dicom+json', 'application/json'].some((t) => matches(r.mediaType, t)));
  if (!ok) throw notAcceptable('Only application/dicom+json is available here (XML is not supported)');
}

/** A transfer syntax parameter is satisfied by the stored syntax when absent, "*" or equal. */
function syntaxOk(param: string | undefined, stored: Iterable<string>): boolean {
  if (param === undefined || param === '' || param === '*') return true;
  for (const ts of stored) if (ts !== param) return false;
  return true;
}

/**
 * Instance retrieval (study, series, instance): multipart/related of application/dicom parts.
 * `singleAllowed`: a lone instance may also be answered as a bare application/dicom body.
 */
export function negotiateInstances(header: string | null, storedSyntaxes: Set<string>, singleAllowed: boolean): { multipart: boolean } {
  const ranges = parseAccept(header);
  for (const r of ranges) {
    if (r.mediaType === 'multipart/related' || r.mediaType === 'multipart/*' || r.mediaType === '*/*') {
      const type = (r.params.type ?? 'application/dicom').toLowerCase();
      if (!matches(type, 'application/dicom')) continue;
      if (syntaxOk(r.params['transfer-syntax'], storedSyntaxes)) return { multipart: true };
      continue;
    }
    if (singleAllowed && r.mediaType === 'application/dicom' && syntaxOk(r.params['transfer-syntax'], storedSyntaxes)) return { multipart: false };
  }
  const demanded = ranges.map((r) => r.params['transfer-syntax']).find((t) => t && t !== '*');
  throw notAcceptable(
    demanded
      ? `Instances are served in their stored transfer syntax (${[...storedSyntaxes].join(', ')}); ${demanded} is not available (send transfer-syntax=* to accept the stored syntax)`
      : 'Instances are served as multipart/related; type="application/dicom"',
  );
}

/**
 * Frames and pixel bulk data: parts of `mediaType` (application/octet-stream for native pixels,
 * image/jls, image/jpeg… for compressed ones) in the stored syntax `ts`.
 */
export function negotiatePixels(header: string | null, ts: string, mediaType: string, singleAllowed: boolean): { multipart: boolean } {
  const ranges = parseAccept(header);
  for (const r of ranges) {
    const tsParam = r.params['transfer-syntax'];
    if (r.mediaType === 'multipart/related' || r.mediaType === 'multipart/*' || r.mediaType === '*/*') {
      const type = (r.params.type ?? '*/*').toLowerCase();
      // transfer-syntax=* accepts whatever is stored, even when the part type named another media type:
      // the part's own Content-Type then says what it is (what dcm4chee and Orthanc do, what OHIF expects).
      if (tsParam === '*') return { multipart: true };
      if (matches(type, mediaType) && syntaxOk(tsParam, [ts])) return { multipart: true };
      continue;
    }
    if (singleAllowed && (matches(r.mediaType, mediaType) || (tsParam === '*' && r.mediaType.startsWith('image/'))) && syntaxOk(tsParam === '*' ? undefined : tsParam, [ts])) {
      return { multipart: false };
    }
  }
  throw notAcceptable(
    `Pixel data is served as stored: ${mediaType} in transfer syntax ${ts}; ask for multipart/related; type="${mediaType}" or add transfer-syntax=*`,
  );
}

/** Non-pixel bulk data: application/octet-stream, multipart (default) or single part. */
export function negotiateOctets(header: string | null): { multipart: boolean } {
  for (const r of parseAccept(header)) {
    if (r.mediaType === 'multipart/related' || r.mediaType === 'multipart/*' || r.mediaType === '*/*') {
      if (matches((r.params.type ?? '*/*').toLowerCase(), 'application/octet-stream') || r.params.type === undefined) return { multipart: true };
      continue;
    }
    if (r.mediaType === 'application/octet-stream' || r.mediaType === 'application/*') return { multipart: false };
  }
  throw notAcceptable('Bulk data is served as application/octet-stream');
}
