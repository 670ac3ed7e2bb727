// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) in plain TypeScript, for the browser
// path: RecordBatch v2 carries CRC-32C of bytes 21..end. Slicing-by-8 (eight 256-entry tables,
// 8 KiB): eight bytes per step. The Node entry swaps in @node-rs/crc32 (hardware CRC), which
// gives the same values; test/integration/client_browser.test.ts checks the two agree.

const POLY = 0x82f63b78;

const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n];
  for (let k = 1; k < 8; k++) {
    c = T[c & 0xff] ^ (c >>> 8);
    T[k * 256 + n] = c;
  }
}

/**
 * CRC-32C of `data` (continuing from `initial`, the CRC of the bytes before, 0 to start); an
 * unsigned 32-bit number.
 */
export function crc32c(data: Uint8Array, initial = 0): number {
  let crc = ~initial;
  let i = 0;
  const n = data.length;
  const end8 = n - (n & 7);
  while (i < end8) {
    const a = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    const b = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24);
    crc =
      T[1792 + (a & 0xff)] ^
      T[1536 + ((a >>> 8) & 0xff)] ^
      T[1280 + ((a >>> 16) & 0xff)] ^
      T[1024 + (a >>> 24)] ^
      T[768 + (b & 0xff)] ^
      T[512 + ((b >>> 8) & 0xff)] ^
      T[256 + ((b >>> 16) & 0xff)] ^
      T[b >>> 24];
    i += 8;
  }
  while (i < n) crc = T[(crc ^ data[i++]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
