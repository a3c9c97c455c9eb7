/**
 * Deterministic pixel patterns: a body-like ellipse with a gradient, an inner disc that grows
 * and shrinks along the slices and a bright rim, so thumbnails and viewers show something
 * recognisable. Buffers are cached per (modality, size, variant) and shared between
 * instances: generating 500 CT slices must not compute 500 images.
 */
const cache = new Map<string, Buffer>();
export const PIXEL_VARIANTS = 8;

/**
 * 16-bit little-endian pixels. CT: signed, stored value = HU + 1024 (RescaleIntercept -1024).
 * MR: unsigned 12-bit range.
 */
export function pixelData(modality: 'CT' | 'MR', rows: number, columns: number, variant: number): Buffer {
  const v = ((variant % PIXEL_VARIANTS) + PIXEL_VARIANTS) % PIXEL_VARIANTS;
  const key = `${modality}:${rows}x${columns}:${v}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const buf = Buffer.alloc(rows * columns * 2);
  const cy = rows / 2;
  const cx = columns / 2;
  const ry = rows * 0.42;
  const rx = columns * 0.46;
  // Disc radius follows a triangle wave over the variants: 10%..24% of the image.
  const phase = v < PIXEL_VARIANTS / 2 ? v : PIXEL_VARIANTS - v;
  const disc = Math.min(rows, columns) * (0.1 + 0.035 * phase);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const ex = (x - cx) / rx;
      const ey = (y - cy) / ry;
      const e = ex * ex + ey * ey;
      const d = Math.hypot(x - cx * 1.1, y - cy * 0.9);
      let value: number;
      if (modality === 'CT') {
        let hu = -1000;
        if (e <= 1) hu = e > 0.88 ? 900 : 20 + Math.round((x / columns) * 60);
        if (d < disc) hu = 180;
        value = hu + 1024;
      } else {
        value = Math.round((y / rows) * 300);
        if (e <= 1) value = e > 0.9 ? 3800 : 900 + Math.round((x / columns) * 700);
        if (d < disc) value = 2600;
      }
      buf.writeUInt16LE(value, (y * columns + x) * 2);
    }
  }
  cache.set(key, buf);
  return buf;
}
