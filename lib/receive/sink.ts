/**
 * The sink for instances that come back on our own connection (C-GET sub-operations, WADO-RS
 * parts): each one is streamed into the receiving pool's staging exactly as the SCP does for a
 * C-MOVE (lib/dicom/scp.ts) — same .part naming in `<staging>/.incoming`, same StagingStream
 * (bounded memory: the producer is told to pause above a high-water mark), same structural check
 * with the walker, same rename to `<staging>/<study>/<sop>.dcm`, same StagedInstance row and
 * `received` count (lib/receive/staging.ts recordStagedFor). Nothing of a study is held in memory.
 *
 * A sink is tied to one retrieval: an instance of another study, or arriving after the retrieval
 * was cancelled, is refused (file removed). Every outcome is a C-STORE status so a C-GET can
 * answer its sub-operation with it; WADO-RS callers read `stored`.
 *
 * Usage (push style, C-GET):   const h = sink.open(meta); write parts to h.stream; await h.done()
 * Usage (pull style, WADO-RS): await sink.stageStream(readable, { part10: true })
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { db } from '../db';
import {
  StagingStream, StoreStatus, markLiveStagingFile, stagingTempPath, streamFinished, validateStagedObject,
} from '../dicom/scp';
import { TAG_SERIES_INSTANCE_UID, TAG_SOP_CLASS_UID, TAG_SOP_INSTANCE_UID, TAG_STUDY_INSTANCE_UID, buildPart10Header, readPart10Header } from '../dicom/part10';
import { isSafeUid } from '../dicom/uids';
import { DatasetFormatError, rawString } from '../dicom/walker';
import { logger } from '../logger';
import { stagingDir } from '../storage';
import { recordStagedFor } from './staging';

const log = logger('receive.sink');

export interface IncomingInstance {
  /**
   * true: the bytes are a whole Part-10 file (preamble, DICM, meta header: WADO-RS
   * application/dicom parts); false: a bare dataset in `transferSyntaxUid` (a C-STORE
   * sub-operation), to which the sink adds the meta header the SCP adds.
   */
  part10: boolean;
  /** Required when part10 is false. */
  transferSyntaxUid?: string;
  /** From the C-STORE command when known: checked against the dataset. */
  sopClassUid?: string;
  sopInstanceUid?: string;
  /** Backpressure for this instance's producer (else the sink's onPressure). */
  onPressure?: (high: boolean) => void;
}

export interface StageOutcome {
  stored: boolean;
  /** A C-STORE status (0x0000 stored; 0xA700, 0xA900, 0xC000, 0x0110 refused). */
  status: number;
  /** Why it was refused (PHI-free, ≤ 64 characters). */
  comment?: string;
  sopInstanceUid?: string;
}

export interface OpenInstance {
  /** Write the instance's bytes here, then end() it (or call abandon()). */
  stream: Writable;
  /** Resolves once the instance is recorded or refused (never rejects). */
  done(): Promise<StageOutcome>;
  /** The connection broke mid-instance: nothing of it is kept. */
  abandon(): void;
}

export interface InstanceSink {
  readonly retrievalId: string | null;
  open(meta: IncomingInstance): OpenInstance;
  /** Streams one instance from a readable (a multipart part) and records it. */
  stageStream(src: Readable | AsyncIterable<Buffer>, meta: IncomingInstance): Promise<StageOutcome>;
  /** Instances stored through this sink so far. */
  readonly stored: number;
}

export interface SinkOptions {
  /**
   * Backpressure: true when more than the high-water mark waits to be written (pause the
   * producer: the socket), false once below the low mark again.
   */
  onPressure?: (high: boolean) => void;
  /** Shown as Source AE in the staged file's meta header (the PACS's AE title). */
  sourceAe?: string;
}

interface Target {
  retrievalId: string | null;
  poolId: string;
  dir: string;
  studyInstanceUid: string;
  /** null: a probe that keeps nothing (the capability check, the rules preview). */
  record: ((info: { path: string; size: number; sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string }) => Promise<void>) | null;
  /**
   * With record null: sees the checked Part-10 temp file before it is removed (the rules
   * preview reads it into memory). Returns a refusal comment to refuse the instance.
   */
  capture?: (file: { path: string; size: number }) => Promise<string | void>;
}

const refused = (status: number, comment: string, sopInstanceUid?: string): StageOutcome => ({ stored: false, status, comment, sopInstanceUid });

function makeSink(t: Target, opts: SinkOptions): InstanceSink {
  let stored = 0;
  const sink: InstanceSink = {
    retrievalId: t.retrievalId,
    get stored() {
      return stored;
    },
    open(meta) {
      const cmdSop = (meta.sopInstanceUid ?? '').trim();
      const cmdClass = (meta.sopClassUid ?? '').trim();
      const ts = meta.transferSyntaxUid ?? '';
      const header = meta.part10 ? Buffer.alloc(0) : buildPart10Header({ sopClassUid: cmdClass, sopInstanceUid: cmdSop, transferSyntaxUid: ts, sourceAeTitle: opts.sourceAe });
      const tempPath = stagingTempPath(t.dir, cmdSop);
      const stream = new StagingStream(tempPath, header, meta.onPressure ?? opts.onPressure ?? (() => undefined));
      stream.on('error', () => undefined); // reported through streamFinished
      let outcome: Promise<StageOutcome> | undefined;
      const badCommand = !meta.part10 && (!isSafeUid(cmdSop) || !isSafeUid(cmdClass) || !ts);
      return {
        stream,
        abandon() {
          stream.removeOnDestroy = true;
          stream.destroy();
        },
        done() {
          outcome ??= finish(stream, meta, badCommand).then((o) => {
            if (o.stored) stored++;
            return o;
          });
          return outcome;
        },
      };
    },
    async stageStream(src, meta) {
      const h = sink.open(meta);
      try {
        await pipeline(src instanceof Readable ? src : Readable.from(src), h.stream);
      } catch {
        h.abandon();
        return refused(StoreStatus.ProcessingFailure, 'The instance did not arrive whole');
      }
      return h.done();
    },
  };

  async function finish(stream: StagingStream, meta: IncomingInstance, badCommand: boolean): Promise<StageOutcome> {
    let finalPath: string | undefined;
    let recorded = false;
    try {
      const err = await streamFinished(stream);
      if (err) {
        log.error('staging write failed', { code: (err as NodeJS.ErrnoException).code });
        return refused(StoreStatus.OutOfResources, 'Cannot write to staging storage');
      }
      if (badCommand) return refused(StoreStatus.CannotUnderstand, 'Invalid SOP UID in C-STORE command');
      let headerLength = stream.headerLength;
      let ts = meta.transferSyntaxUid ?? '';
      let ids: Map<number, Buffer>;
      try {
        if (meta.part10) {
          const h = readPart10Header(stream.prefixBuffer());
          headerLength = h.datasetOffset;
          ts = h.transferSyntaxUid;
        }
        ids = validateStagedObject(stream, headerLength, ts);
      } catch (e) {
        if (e instanceof DatasetFormatError) {
          log.warn('malformed dataset refused', { retrievalId: t.retrievalId, problem: e.message });
          return refused(StoreStatus.CannotUnderstand, 'Malformed dataset');
        }
        throw e;
      }
      const sop = rawString(ids.get(TAG_SOP_INSTANCE_UID)) ?? '';
      const sopClass = rawString(ids.get(TAG_SOP_CLASS_UID)) ?? '';
      const study = rawString(ids.get(TAG_STUDY_INSTANCE_UID)) ?? '';
      const series = rawString(ids.get(TAG_SERIES_INSTANCE_UID)) ?? '';
      if (meta.sopInstanceUid && sop !== meta.sopInstanceUid.trim()) return refused(StoreStatus.CannotUnderstand, 'SOP Instance UID does not match the command');
      if (meta.sopClassUid && sopClass !== meta.sopClassUid.trim()) return refused(StoreStatus.SopClassMismatch, 'SOP Class UID does not match the command');
      if (!isSafeUid(sop) || !isSafeUid(sopClass) || !isSafeUid(study) || !isSafeUid(series)) return refused(StoreStatus.CannotUnderstand, 'Missing Study or Series Instance UID');
      // Only the retrieval's own study: a source answering with anything else gets it refused.
      if (study !== t.studyInstanceUid) {
        log.warn('instance of another study refused', { retrievalId: t.retrievalId });
        return refused(StoreStatus.ProcessingFailure, 'Not an instance of the requested study', sop);
      }
      stream.closeFd();
      if (!t.record) {
        if (t.capture) {
          const size = (await fsp.stat(stream.tempPath)).size;
          const no = await t.capture({ path: stream.tempPath, size });
          if (no) return refused(StoreStatus.OutOfResources, no, sop);
        }
        return { stored: true, status: StoreStatus.Success, sopInstanceUid: sop };
      }
      const dir = path.join(t.dir, study);
      const target = path.join(dir, `${sop}.dcm`);
      markLiveStagingFile(target, true);
      finalPath = target;
      try {
        await fsp.mkdir(dir, { recursive: true });
        await fsp.rename(stream.tempPath, target);
      } catch (e) {
        log.error('cannot move staged file into place', { code: (e as NodeJS.ErrnoException).code });
        return refused(StoreStatus.OutOfResources, 'Cannot write to staging storage', sop);
      }
      try {
        await t.record({ path: target, size: stream.bytes, sopClassUid: sopClass, sopInstanceUid: sop, transferSyntaxUid: ts });
      } catch (e) {
        log.warn('staged instance not recorded; refused', { retrievalId: t.retrievalId, err: e });
        return refused(StoreStatus.ProcessingFailure, e instanceof RetrievalNotReceivingError ? e.message : 'Could not record the object', sop);
      }
      recorded = true;
      return { stored: true, status: StoreStatus.Success, sopInstanceUid: sop };
    } catch (e) {
      log.error('store failed unexpectedly', { retrievalId: t.retrievalId, err: e });
      return refused(StoreStatus.ProcessingFailure, 'Could not record the object');
    } finally {
      stream.closeFd();
      if (!recorded) {
        await fsp.rm(stream.tempPath, { force: true }).catch(() => undefined);
        if (finalPath) await fsp.rm(finalPath, { force: true }).catch(() => undefined);
      }
      markLiveStagingFile(stream.tempPath, false);
      if (finalPath) markLiveStagingFile(finalPath, false);
    }
  }

  return sink;
}

/** The retrieval is no longer receiving (cancelled, superseded, finished). */
export class RetrievalNotReceivingError extends Error {
  constructor() {
    super('The retrieval is no longer receiving');
    this.name = 'RetrievalNotReceivingError';
  }
}

/**
 * The sink of one retrieval: instances of its study go to its receiving pool's staging and are
 * counted on it, while it is MOVING.
 */
export async function retrievalSink(retrievalId: string, opts: SinkOptions = {}): Promise<InstanceSink> {
  const r = await db.retrieval.findUniqueOrThrow({
    where: { id: retrievalId },
    select: { id: true, studyInstanceUid: true, connector: { select: { receivingPoolId: true } } },
  });
  const poolId = r.connector.receivingPoolId;
  const dir = stagingDir(poolId);
  await fsp.mkdir(path.join(dir, '.incoming'), { recursive: true });
  return makeSink(
    {
      retrievalId,
      poolId,
      dir,
      studyInstanceUid: r.studyInstanceUid,
      record: async (info) => {
        const live = await db.retrieval.count({ where: { id: retrievalId, state: 'MOVING' } });
        if (!live) throw new RetrievalNotReceivingError();
        await recordStagedFor(retrievalId, { ...info, poolId, callingAe: opts.sourceAe ?? '', studyInstanceUid: r.studyInstanceUid });
      },
    },
    opts,
  );
}

/**
 * A sink that checks what arrives and keeps nothing: the capability check's retrieve test for
 * same-connection methods (C-GET, WADO-RS). Uses the receiving pool's staging folder for its
 * temp files so it exercises the same disk.
 */
export async function probeSink(receivingPoolId: string, studyInstanceUid: string, opts: SinkOptions = {}): Promise<InstanceSink> {
  const dir = stagingDir(receivingPoolId);
  await fsp.mkdir(path.join(dir, '.incoming'), { recursive: true });
  return makeSink({ retrievalId: null, poolId: receivingPoolId, dir, studyInstanceUid, record: null }, opts);
}

/**
 * A sink that keeps ONE checked instance in memory and nothing on disk: the rules preview's PACS
 * sample. The instance streams through a temp file in the pool's staging `.incoming` folder
 * (same check as every retrieval), is read into memory when it is at most `maxBytes`, and the
 * temp file is removed whatever happens. No StagedInstance row, no retrieval. A second instance
 * (a PACS sending more than asked) is refused.
 */
export async function memorySink(poolId: string, studyInstanceUid: string, maxBytes: number, opts: SinkOptions = {}): Promise<InstanceSink & { readonly bytes: Buffer | null; readonly tooLarge: boolean }> {
  const dir = stagingDir(poolId);
  await fsp.mkdir(path.join(dir, '.incoming'), { recursive: true });
  let bytes: Buffer | null = null;
  let tooLarge = false;
  const inner = makeSink(
    {
      retrievalId: null,
      poolId,
      dir,
      studyInstanceUid,
      record: null,
      capture: async (file) => {
        if (bytes) return 'Only one instance was asked for';
        if (file.size > maxBytes) {
          tooLarge = true;
          return 'Larger than the preview allows';
        }
        bytes = await fsp.readFile(file.path);
      },
    },
    opts,
  );
  // Getters (Object.assign would copy today's values).
  return Object.defineProperties(inner, {
    bytes: { get: () => bytes },
    tooLarge: { get: () => tooLarge },
  }) as InstanceSink & { readonly bytes: Buffer | null; readonly tooLarge: boolean };
}

/**
 * A sink that stages into a plain folder (`<dir>/<study>/<sop>.dcm`) without database rows: the
 * same streaming, check and rename as a retrieval's sink, for benchmarks (bench/retrieve-sources).
 */
export async function directorySink(dir: string, studyInstanceUid: string, opts: SinkOptions & { onStored?: () => void } = {}): Promise<InstanceSink> {
  await fsp.mkdir(path.join(dir, '.incoming'), { recursive: true });
  return makeSink({ retrievalId: null, poolId: '', dir, studyInstanceUid, record: async () => opts.onStored?.() }, opts);
}

