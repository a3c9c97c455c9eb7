/**
 * The admin forms' building blocks (components/admin/kit.tsx), rendered to markup: a field's
 * label, control, help, hint and one error message are wired together (for/id, aria-invalid,
 * aria-describedby); secrets are write-only; the DICOMweb auth block asks for what each type
 * needs; the footer's busy and cancel states; a changed field's error goes away.
 */
import { createElement as h, type ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import {
  clearsFieldErrors,
  Field,
  FormFooter,
  HttpAuthFields,
  oneMessagePerField,
  readHttpConnection,
  SecretField,
  TestResult,
  useFieldBinder,
  withoutField,
  type Binder,
  type Fields,
} from '@/components/admin/kit';

/** The markup of what `render` makes with a binder over `fields` (the unit tests have no DOM). */
function dom(fields: Fields, render: (f: Binder) => ReactNode): string {
  function Probe() {
    return h('div', null, render(useFieldBinder(fields)));
  }
  return renderToStaticMarkup(h(Probe));
}
const html = (d: string) => d;

/** The attributes of the first `tag` element whose attribute `attr` is `value`. */
function element(d: string, tag: string, attr: string, value: string): Record<string, string> | undefined {
  for (const m of html(d).matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'g'))) {
    const attrs = Object.fromEntries([...m[1].matchAll(/([\w:-]+)(?:="([^"]*)")?/g)].map((a) => [a[1], a[2] ?? '']));
    if (attrs[attr] === value) return attrs;
  }
  return undefined;
}

/** The text of the first `tag` element whose attribute `attr` is `value`. */
function textOf(d: string, tag: string, attr: string, value: string): string | undefined {
  const m = html(d).match(new RegExp(`<${tag}\\b[^>]*${attr}="${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>(.*?)</${tag}>`));
  return m?.[1].replace(/<!-- -->/g, '').replace(/<[^>]+>/g, '');
}

describe('field errors', () => {
  it('keeps one message per field, and drops a changed field’s (with its parts)', () => {
    expect(oneMessagePerField({ name: ['required', 'too short'], empty: [] })).toEqual({ name: ['required'] });
    const fields = { mapping: ['x'], 'mapping.patientId': ['y'], mappingNote: ['z'], host: ['h'] };
    expect(withoutField(fields, 'mapping')).toEqual({ mappingNote: ['z'], host: ['h'] });
    expect(withoutField(fields, 'port')).toBe(fields);
  });

  it('clears the error of the field the change came from, by the id the binder gave it or by its name', () => {
    const clearField = vi.fn();
    let f!: Binder;
    dom({}, (b) => ((f = b), null));
    const onChange = clearsFieldErrors({ clearField }, f);
    // The exporter's override secret: posted as "overrideSecret", its error is "bearerToken".
    onChange({ target: { id: f.id('bearerToken'), name: 'overrideSecret' } } as unknown as React.FormEvent<HTMLFormElement>);
    onChange({ target: { id: '', name: 'chunked' } } as unknown as React.FormEvent<HTMLFormElement>);
    onChange({ target: { id: '', name: '' } } as unknown as React.FormEvent<HTMLFormElement>);
    expect(clearField.mock.calls).toEqual([['bearerToken'], ['chunked']]);
  });
});

describe('Field', () => {
  const name = (fields: Fields, extra: Partial<Parameters<typeof Field>[0]> = {}) =>
    dom(fields, (f) => h(Field, { f, name: 'host', label: 'Host', required: true, help: 'The PACS host.', className: 'sm:col-span-3', ...extra, children: (p) => h('input', p) }));

  it('labels its control, marks it required, and is described by its help', () => {
    const d = name({});
    const input = element(d, 'input', 'name', 'host')!;
    expect(input.class).toBe('input');
    expect(element(d, 'label', 'for', input.id)).toBeDefined();
    expect(textOf(d, 'label', 'for', input.id)).toBe('Host *');
    expect(input['aria-invalid']).toBeUndefined();
    expect(textOf(d, 'p', 'id', input['aria-describedby'])).toBe('The PACS host.');
    expect(element(d, 'div', 'class', 'sm:col-span-3')).toBeDefined();
  });

  it('shows the one error instead of the help, marks the control invalid and describes it by the error', () => {
    const d = name(oneMessagePerField({ host: ['The host is required', 'Not a host name'] }));
    const input = element(d, 'input', 'name', 'host')!;
    expect(input.class.split(/\s+/)).toEqual(['input', 'input-error']);
    expect(input['aria-invalid']).toBe('true');
    expect(textOf(d, 'p', 'id', input['aria-describedby'])).toBe('The host is required');
    expect(html(d)).not.toContain('Not a host name');
    expect(html(d)).not.toContain('The PACS host.');
  });

  it('keeps a hint next to the error, and reads the error of another key when told (seconds in the form, milliseconds in the schema)', () => {
    const d = name({ timeoutMs: ['At least 1 s'] }, { name: 'timeoutS', errorKey: 'timeoutMs', required: false, label: 'Timeout (s)', help: undefined, hint: 'Per request.' });
    const input = element(d, 'input', 'name', 'timeoutS')!;
    expect(input['aria-invalid']).toBe('true');
    const [hint, error] = input['aria-describedby'].split(' ');
    expect(textOf(d, 'p', 'id', hint)).toBe('Per request.');
    expect(textOf(d, 'p', 'id', error)).toBe('At least 1 s');
    expect(textOf(d, 'label', 'for', input.id)).toBe('Timeout (s)');
  });
});

describe('write-only secrets', () => {
  it('never shows the stored secret, only whether there is one; empty keeps it', () => {
    const set = dom({}, (f) => h(SecretField, { f, name: 'bearerToken', inputName: 'overrideSecret', label: 'Bearer token', state: 'set' }));
    const input = element(set, 'input', 'name', 'overrideSecret')!;
    expect(input.type).toBe('password');
    expect(input.value).toBeUndefined();
    expect(input.placeholder).toBe('set — leave empty to keep');
    expect(textOf(set, 'label', 'for', input.id)).toBe('Bearer token *');
    expect(textOf(set, 'p', 'id', input['aria-describedby'])).toBe('Stored encrypted; never shown again (set).');
    const unset = dom({}, (f) => h(SecretField, { f, name: 'webSecret', label: 'Password', state: undefined }));
    expect(element(unset, 'input', 'name', 'webSecret')!.placeholder).toBe('');
    expect(html(unset)).toContain('never shown again (not set).');
  });

  it('reads the connection from the form: an empty secret is left out, seconds become milliseconds, header lines a map', () => {
    const fd = new FormData();
    fd.set('webHeaders', 'X-A: b\n\nX-C:d: e');
    fd.set('webConnectTimeoutS', '2.5');
    fd.set('webSecret', '');
    fd.set('webTlsTrustAll', 'on');
    const c = readHttpConnection(fd, 'BEARER');
    expect(c).toMatchObject({ webHeaders: { 'X-A': 'b', 'X-C': 'd: e' }, webConnectTimeoutMs: 2500, webReadTimeoutMs: 60_000, webTlsTrustAll: true, webTlsAllowAnyHost: false, webAuthType: 'BEARER' });
    expect(c.webSecret).toBeUndefined();
    fd.set('webSecret', 'token');
    expect(readHttpConnection(fd, 'BEARER').webSecret).toBe('token');
  });
});

describe('HttpAuthFields', () => {
  const stored = { authType: 'OAUTH2' as const, username: 'client', secret: 'set' as const, tokenUrl: 'https://idp/token', scope: 'read' };
  const auth = (authType: 'NONE' | 'BASIC' | 'BEARER' | 'OAUTH2') => dom({}, (f) => h(HttpAuthFields, { f, initial: stored, authType, onAuthType: () => {}, column: 'sm:col-span-4' }));
  const labels = (d: string) => [...html(d).matchAll(/<label[^>]*>(.*?)<\/label>/g)].map((m) => m[1].replace(/<!-- -->/g, ''));

  it('asks each type for what it needs', () => {
    expect(labels(auth('NONE'))).toEqual(['Authentication']);
    expect(labels(auth('BASIC'))).toEqual(['Authentication', 'User name *', 'Password *']);
    expect(labels(auth('BEARER'))).toEqual(['Authentication', 'Bearer token *']);
    expect(labels(auth('OAUTH2'))).toEqual(['Authentication', 'Client id *', 'Client secret *', 'Token endpoint *', 'Scope']);
  });

  it('says the secret is set only for the type it was stored with', () => {
    expect(html(auth('OAUTH2'))).toContain('never shown again (set).');
    expect(html(auth('BASIC'))).toContain('never shown again (not set).');
  });
});

describe('FormFooter', () => {
  const footer = (busy: boolean, onCancel?: () => void, note?: string) =>
    renderToStaticMarkup(h(FormFooter, { action: { busy, error: busy ? null : 'Refused', fields: { 'members.0.role': ['Unknown role'], name: ['Required'] } }, known: ['name'], submitLabel: 'Create device', onCancel, note }));

  it('saves, cancels, tells what no field shows, and is busy while saving', () => {
    const idle = footer(false, () => {});
    expect(idle).toMatch(/<button type="submit" class="btn btn-primary">Create device<\/button>/);
    expect(idle).toMatch(/<button type="button" class="btn">Cancel<\/button>/);
    expect(idle).toContain('Esc cancels');
    expect(idle).toContain('role="alert"');
    expect(idle).toContain('Unknown role');
    expect(idle).not.toContain('Required');
    const busy = footer(true, () => {});
    expect(busy).toMatch(/<button type="submit" class="btn btn-primary" disabled="">Saving…<\/button>/);
    expect(busy).toMatch(/<button type="button" class="btn" disabled="">Cancel<\/button>/);
  });

  it('has no cancel (nor its hint) without onCancel, and shows the form’s own note', () => {
    const alone = footer(false);
    expect(alone).not.toContain('Cancel');
    expect(alone).not.toContain('Esc cancels');
    expect(footer(false, undefined, 'Saving runs the statement.')).toContain('Saving runs the statement.');
  });
});

describe('TestResult', () => {
  const text = (t: Parameters<typeof TestResult>[0]['t']) => renderToStaticMarkup(h(TestResult, { t, okLabel: 'Reachable' })).replace(/<!-- -->/g, '').replace(/<[^>]+>/g, '');
  it('says whether the row was tested, is being tested, and what came back', () => {
    expect(text(undefined)).toBe('not tested');
    expect(text({ state: 'testing' })).toBe(' Testing…');
    expect(text({ state: 'done', ok: true, message: 'answered HTTP 200' })).toBe('● Reachable: answered HTTP 200');
    expect(text({ state: 'done', ok: false, message: 'connection refused' })).toBe('● Failed: connection refused');
  });
});
