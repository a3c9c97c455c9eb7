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
 */
const PDU_TYPES = new Set([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]);

export class PduFramer {
  private chunks: Buffer[] = [];
  private have = 0;
  /** Total bytes of the PDU being received (header included), or -1 between PDUs. */
  private need = -1;
  private failed = false;

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
          const pdu = Buffer.concat(this.chunks, this.need);
          this.chunks = [];
          this.have = 0;
          this.need = -1;
          this.onPdu(pdu);
        }
      }
      chunk = chunk.subarray(take);
    }
  }

  /** Bytes held for the PDU being received (for memory accounting). */
  get buffered(): number {
    return this.have;
  }
}
