/**
 * Cuts the bytes of a DICOM association into PDUs (PS3.8 9.3: type, reserved, 32-bit length),
 * for the SCP in place of dcmjs-dimse 0.3.3's own accumulator.
 *
 * Why: dcmjs-dimse appends every socket chunk to the PDU being received with
 * `Buffer.concat([received, chunk])`, copying everything received so far again for each chunk.
 * Socket reads are ~64 KB, so a 256 KB P-DATA-TF was copied ~2.3 times over and a 1 MB one ~8.5
 * times: the larger the PDU a sender uses, the more CPU per byte. Here the chunks of one PDU are
 * kept in a list and joined once when the PDU is complete; a PDU that lies inside one chunk is
 * handed over as a view of it (no copy at all).
 *
 * Reuse of the assembly buffer (recycle): a PDU assembled from several reads needs a buffer of its
 * own, and allocating one per PDU (~128 KB each from Orthanc and DCMTK senders, four per 512² CT
 * instance) makes V8 run a full mark-compact every 60-100 ms while a study arrives, because
 * Buffers are memory outside its heap that only a full collection gives back (bench/receive with
 * BENCH_SCP_NODE_FLAGS=--trace-gc: ~20 of them per 300 instances, ~1.2 ms per instance on the
 * main thread). A consumer that has finished with an assembled PDU, and kept no reference to any
 * part of it, may hand it back with recycle(): the next assembled PDU that fits is written into
 * the same memory. Only a PDU of at most RECYCLE_MAX bytes is kept (one per association: with
 * 100 associations at most 25 MB). Handing back a PDU something still reads would corrupt it:
 * the SCP does so only when the PDU's data went synchronously into a staging file (lib/dicom/scp.ts).
 */
/** Largest assembled PDU kept for reuse (bytes, header included). */
export const RECYCLE_MAX = 256 * 1024;

let reused = 0;
/** How many assembled PDUs were written into handed-back memory in this process (tests, benches). */
export function recycledPdus(): number {
  return reused;
}
const PDU_TYPES = new Set([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]);

export class PduFramer {
  private chunks: Buffer[] = [];
  private have = 0;
  /** Total bytes of the PDU being received (header included), or -1 between PDUs. */
  private need = -1;
  private failed = false;
  /** The memory of the last assembled PDU lent out (reusable once handed back), and whether it was. */
  private lent: Buffer | undefined;
  private spare: Buffer | undefined;

  constructor(
    private readonly onPdu: (pdu: Buffer) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  push(input: Buffer): void {
    let chunk = input;
    while (chunk.length > 0 && !this.failed) {
      if (this.need < 0) {
        if (this.have + chunk.length < 6) {
          this.chunks.push(chunk);
          this.have += chunk.length;
          return;
        }
        if (this.have > 0) {
          // A header split across reads (rare): join the few bytes held with this chunk.
          chunk = Buffer.concat([...this.chunks, chunk]);
          this.chunks = [];
          this.have = 0;
        }
        const type = chunk[0];
        if (!PDU_TYPES.has(type)) {
          this.failed = true;
          this.onError(new Error(`Unknown PDU type: ${type}`));
          return;
        }
        this.need = 6 + chunk.readUInt32BE(2);
      }
      const take = Math.min(this.need - this.have, chunk.length);
      if (this.have === 0 && take === this.need) {
        this.need = -1;
        this.onPdu(chunk.subarray(0, take));
      } else {
        this.chunks.push(chunk.subarray(0, take));
        this.have += take;
        if (this.have === this.need) {
          const pdu = this.assemble();
          this.chunks = [];
          this.have = 0;
          this.need = -1;
          this.onPdu(pdu);
        }
      }
      chunk = chunk.subarray(take);
    }
  }

  /** Joins the held chunks into the spare buffer when one was handed back and fits, else a new one. */
  private assemble(): Buffer {
    const spare = this.spare;
    this.spare = undefined;
    if (this.need > RECYCLE_MAX) {
      this.lent = undefined;
      return Buffer.concat(this.chunks, this.need);
    }
    // Memory of its own (allocUnsafeSlow): never a slice of Node's shared pool for small Buffers,
    // which other Buffers use and which must never be written into later.
    const memory = spare && spare.length >= this.need ? spare : Buffer.allocUnsafeSlow(this.need);
    if (memory === spare) reused++;
    const pdu = memory.subarray(0, this.need);
    let at = 0;
    for (const c of this.chunks) at += c.copy(pdu, at);
    this.lent = memory;
    return pdu;
  }

  /**
   * Hands back a PDU given to onPdu: nothing holds it or any view of it any more, so its memory
   * may take the next PDU. PDUs that were views of a socket read, or were not the last one lent,
   * are ignored.
   */
  recycle(pdu: Buffer): void {
    const lent = this.lent;
    if (lent && pdu.buffer === lent.buffer && pdu.byteOffset === lent.byteOffset) {
      this.spare = lent;
      this.lent = undefined;
    }
  }

  /** Bytes held for the PDU being received (for memory accounting). */
  get buffered(): number {
    return this.have;
  }
}
