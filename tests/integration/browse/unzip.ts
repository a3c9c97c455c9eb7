/** Reads a zip with yauzl (an independent reader) and checks what yauzl does not: CRC-32s and local headers. */
import zlib from 'node:zlib';
import yauzl from 'yauzl';

export interface Unzipped {
  name: string;
  data: Buffer;
  /** General purpose flags of the local header (bit 3 = data descriptor). */
  localFlags: number;
  method: number;
}

export async function unzip(buf: Buffer): Promise<{ entries: Unzipped[]; entryCount: number }> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(buf, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (err, z) => (err ? reject(err) : resolve(z!))),
  );
  const entries: Unzipped[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) return reject(err);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', reject);
        stream.on('end', () => {
          const data = Buffer.concat(chunks);
          if ((zlib.crc32(data) >>> 0) !== entry.crc32) return reject(new Error(`CRC mismatch in ${entry.fileName}`));
          const lo = entry.relativeOffsetOfLocalHeader;
          if (buf.readUInt32LE(lo) !== 0x04034b50) return reject(new Error(`no local header for ${entry.fileName}`));
          // The local header carries the real CRC (no data descriptor).
          if (buf.readUInt32LE(lo + 14) !== entry.crc32) return reject(new Error(`local CRC differs for ${entry.fileName}`));
          entries.push({ name: entry.fileName, data, localFlags: buf.readUInt16LE(lo + 6), method: entry.compressionMethod });
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
  return { entries, entryCount: zip.entryCount };
}
