/**
 * Runtime fixes for dcmjs-dimse 0.3.3, applied once when lib/dicom is imported.
 *
 * 1. dimseStream reset (quadratic slowdown and stale counters).
 *    `Network._processPDataTf` collects each incoming DIMSE command into `this.dimseStream` but
 *    never clears it after a command that has no dataset (every C-MOVE pending response, every
 *    C-ECHO, the final C-FIND response). The next command is then parsed together with all the
 *    earlier ones: parsing cost grows with the number of messages (2,000 instances: 35 s instead
 *    of 4.3 s) and elements missing from a later command keep the value of an earlier one (the
 *    final C-MOVE Success response reported NumberOfRemainingSuboperations = 1). Resetting
 *    `this.dimseStream` at the start of `_performDimse` fixes both: by then the command (and
 *    its dataset, if any) has been fully parsed out of the stream.
 *
 *    Why a runtime patch and not patch-package: npm 11 runs no install scripts by default, so
 *    a postinstall-based patch is silently skipped on fresh installs and we would ship the bug
 *    without noticing. The patch here is applied at import, exactly once (guarded by a symbol),
 *    verified right away with a functional check, and refuses to install on a prototype that
 *    does not look like the one it was written for (it then logs a warning, and the
 *    regression test in tests/integration/dicom fails).
 *
 *    1b. In the same wrapper: a response with status 0xFF01 (C-FIND "pending, optional keys not
 *    supported", sent by several PACS) is treated by dcmjs-dimse as final, because it only
 *    knows 0xFF00 as pending: the request would be closed after the first match and the rest
 *    of the answers would land nowhere. Both codes mean "pending" to us; 0xFF01 is rewritten
 *    to 0xFF00 before dcmjs-dimse looks at it.
 *
 * 2. Silence dcmjs-dimse's loggers. Its own loglevel logger is enabled at every level by
 *    default and logs association details; with dataset logging it prints datasets. Its bundled
 *    dcmjs logs unknown private tags by name and value. Both are PHI risks. Our code logs AE
 *    titles, counts and status codes through lib/logger instead.
 *
 * 3. Dataset writes without a name map. Network passes `datasetNameMap || {}` to
 *    `Dataset.getDenaturalizedDataset`, which treats any object as a custom map and spreads the
 *    whole DICOM dictionary into a new object for every request it writes (~4,000 keys). That
 *    alone cost ~2 ms per C-FIND: a 1,000-row query ran at ~170 rows/s against ~650 for DCMTK.
 *    An empty map is passed on as "no map".
 *
 * 4. A fast codec for flat datasets (lib/dicom/fast-dataset.ts): command sets, C-FIND identifiers
 *    and responses are encoded and decoded without dcmjs's generic stream machinery; anything the
 *    codec does not handle (sequences, binary VRs, other character sets) falls back to dcmjs.
 *
 * Set TRIBUTARY_DIMSE_UNPATCHED=1 to import the module without fix 1 (only used by the
 * regression test that proves the fix is still needed and still works).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { dimse } from './dimse';
import { fastDecode, fastEncode, fastEncodeCommand } from './fast-dataset';

const { Scp, log: dimseLog } = dimse;
import { logger } from '../logger';

const log = logger('dicom.patch');
const PATCHED = Symbol.for('tributary.dcmjs-dimse.dimseStreamReset');

/** The bits of dcmjs-dimse's internal Network prototype the patch touches. */
interface NetworkInternals {
  dimseStream: unknown;
  _performDimse(presentationContext: unknown, dimse: unknown): void;
  _processPDataTf(pdu: unknown): unknown;
}
type PerformDimse = NetworkInternals['_performDimse'] & { [PATCHED]?: true };
interface ResponseLike {
  getMessageIdBeingRespondedTo(): number;
  getStatus(): number;
  setStatus(status: number): void;
}

let installed = false;
let enabled = false;
let original: PerformDimse | undefined;

// Network is not exported by dcmjs-dimse; Scp extends it directly, and Client creates plain
// Network instances, so patching Scp's parent prototype covers both sides.
function networkPrototype(): NetworkInternals {
  return Object.getPrototypeOf(Scp.prototype) as NetworkInternals;
}

/** Installs fix 1 (idempotent). Returns true if the fix is active afterwards. */
export function applyPatch(): boolean {
  const proto = networkPrototype();
  const current = proto._performDimse as PerformDimse;
  if (current?.[PATCHED]) {
    enabled = true;
    return true;
  }
  if (typeof current !== 'function' || typeof proto._processPDataTf !== 'function') {
    log.warn('dcmjs-dimse internals changed; dimseStream fix not applied', {});
    return false;
  }
  original = current;
  const patched: PerformDimse = function (this: NetworkInternals, presentationContext: unknown, dimse: unknown) {
    if (enabled) {
      // The command (and any dataset) has already been parsed from the stream at this point.
      this.dimseStream = undefined;
      const rsp = dimse as Partial<ResponseLike> | undefined;
      if (typeof rsp?.getMessageIdBeingRespondedTo === 'function' && typeof rsp.getStatus === 'function' && rsp.getStatus() === 0xff01) {
        rsp.setStatus?.(0xff00);
      }
    }
    return (original as PerformDimse).call(this, presentationContext, dimse);
  };
  patched[PATCHED] = true;
  proto._performDimse = patched;
  installed = true;
  enabled = true;
  if (!verify()) {
    proto._performDimse = original;
    installed = false;
    enabled = false;
    log.warn('dcmjs-dimse dimseStream fix failed its self-check; not applied', {});
    return false;
  }
  return true;
}

/**
 * Functional self-check: run the patched method on a bare object carrying a stale stream and
 * a command type that dcmjs-dimse ignores, and see the stream cleared.
 */
function verify(): boolean {
  const probe = Object.create(networkPrototype()) as NetworkInternals & { emit(): boolean };
  probe.dimseStream = { stale: true };
  probe.emit = () => false;
  try {
    probe._performDimse({}, { getCommandFieldType: () => -1 });
  } catch {
    return false;
  }
  return probe.dimseStream === undefined;
}

/** True when fix 1 is installed and active. */
export function isPatched(): boolean {
  return installed && enabled && (networkPrototype()._performDimse as PerformDimse)[PATCHED] === true;
}

/** For regression tests only: switch fix 1 off or on again within this process. */
export function setPatchEnabled(on: boolean): void {
  if (on && !installed) applyPatch();
  enabled = on && installed;
}

/** A require() that resolves from here, whether this module runs as ESM or as CommonJS. */
function localRequire(): NodeJS.Require {
  try {
    if (typeof import.meta?.url === 'string') return createRequire(import.meta.url);
  } catch {
    /* compiled to CommonJS */
  }
  return typeof require === 'function' ? require : createRequire(path.join(process.cwd(), 'index.js'));
}

function silenceLoggers(): void {
  try {
    dimseLog.setLevel('silent');
  } catch {
    /* logger API changed: nothing to silence */
  }
  try {
    // The dcmjs copy bundled with dcmjs-dimse (0.50.x), not the app's own dcmjs. Resolved from
    // dcmjs-dimse's location so that we reach the same module instance it uses.
    const base = localRequire();
    const req = createRequire(base.resolve('dcmjs-dimse'));
    const bundled = req('dcmjs') as { log?: { setLevel(l: string): void; getLoggers?(): Record<string, { setLevel(l: string): void }> } };
    bundled.log?.setLevel('silent');
    for (const l of Object.values(bundled.log?.getLoggers?.() ?? {})) l.setLevel('silent');
  } catch {
    /* not resolvable (bundled build): nothing to silence */
  }
}

silenceLoggers();

const EMPTY_MAP_FIX = Symbol.for('tributary.dcmjs-dimse.emptyNameMap');
function skipEmptyNameMap(): void {
  const proto = dimse.Dataset.prototype as unknown as {
    getDenaturalizedDataset: ((opts: unknown, nameMap?: Record<string, unknown>) => Buffer) & { [EMPTY_MAP_FIX]?: true };
  };
  const orig = proto.getDenaturalizedDataset;
  if (typeof orig !== 'function' || orig[EMPTY_MAP_FIX]) return;
  const fixed = function (this: unknown, opts: unknown, nameMap?: Record<string, unknown>) {
    return orig.call(this, opts, nameMap && Object.keys(nameMap).length > 0 ? nameMap : undefined);
  } as typeof orig;
  fixed[EMPTY_MAP_FIX] = true;
  proto.getDenaturalizedDataset = fixed;
}
skipEmptyNameMap();

const FAST_CODEC = Symbol.for('tributary.dcmjs-dimse.fastCodec');
type DatasetProto = {
  [FAST_CODEC]?: true;
  getElements(): Record<string, unknown>;
  getTransferSyntaxUid(): string;
  _fromElementsBuffer(buf: Buffer, ts: string, opts: unknown): Record<string, unknown>;
  getDenaturalizedDataset(opts: unknown, nameMap?: Record<string, unknown>): Buffer;
  getDenaturalizedCommandDataset(opts: unknown): Buffer;
};
function installFastCodec(): void {
  if (process.env.TRIBUTARY_DIMSE_FAST_CODEC === '0') return;
  const proto = dimse.Dataset.prototype as unknown as DatasetProto;
  if (proto[FAST_CODEC] || typeof proto._fromElementsBuffer !== 'function' || typeof proto.getDenaturalizedCommandDataset !== 'function') return;
  const read = proto._fromElementsBuffer;
  const write = proto.getDenaturalizedDataset;
  const writeCommand = proto.getDenaturalizedCommandDataset;
  proto._fromElementsBuffer = function (buf, ts, opts) {
    return fastDecode(buf, ts) ?? read.call(this, buf, ts, opts);
  };
  proto.getDenaturalizedDataset = function (opts, nameMap) {
    const noMap = !nameMap || Object.keys(nameMap).length === 0;
    return (noMap && fastEncode(this.getElements(), this.getTransferSyntaxUid())) || write.call(this, opts, nameMap);
  };
  proto.getDenaturalizedCommandDataset = function (opts) {
    return fastEncodeCommand(this.getElements()) ?? writeCommand.call(this, opts);
  };
  proto[FAST_CODEC] = true;
}
installFastCodec();
if (dimse.version !== '0.3.3') {
  // The fixes were written and verified for 0.3.3; they are harmless on other versions, but the
  // regression tests in tests/integration/dicom/dimse-fixes.test.ts say whether still needed.
  log.warn('dcmjs-dimse version differs from the one the runtime fixes were written for', { version: dimse.version, expected: '0.3.3' });
}
if (process.env.TRIBUTARY_DIMSE_UNPATCHED !== '1') applyPatch();
