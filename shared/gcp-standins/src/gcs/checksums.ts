import { createHash } from 'node:crypto';

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78: the checksum GCS stores with every object.
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C of the bytes, as GCS writes it: base64 of the big-endian 32-bit value. */
export function crc32cBase64(data: Uint8Array): string {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i += 1) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

/** MD5 of the bytes, base64 (the `md5Hash` field and the `md5=` part of `x-goog-hash`). */
export function md5Base64(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

/** The `crc32c=...,md5=...` pairs of an `X-Goog-Hash` header. */
export function parseGoogHash(header: string | string[] | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  for (const value of ([] as string[]).concat(header ?? [])) {
    for (const pair of value.split(',')) {
      const at = pair.indexOf('=');
      if (at < 0) continue;
      const name = pair.slice(0, at).trim().toLowerCase();
      if (name === 'crc32c' || name === 'md5') out[name] = pair.slice(at + 1).trim();
    }
  }
  return out;
}
