/** UTF-8 helpers of the landing check's encoding test (the verdict comes from a fatal TextDecoder). */

/** Lead byte → length of its sequence (0 = not a valid lead byte). */
const sequenceLength = (b: number): number =>
  b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;

/**
 * Offset of the first ill-formed UTF-8 sequence in `buf` (which starts at a character boundary),
 * or -1 if there is none (an incomplete sequence at the very end is not counted). Only used to
 * word the INVALID_ENCODING detail; the verdict itself comes from the fatal TextDecoder.
 */
export function locateInvalidUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    const n = sequenceLength(b);
    if (n === 0) return i;
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < n; k++) {
      if (i + k >= buf.length) return -1;
      const c = buf[i + k];
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n;
  }
  return -1;
}

/** The trailing bytes of `buf` (valid UTF-8 so far) that start a character not yet complete. */
export function incompleteTail(buf: Buffer): Buffer {
  for (let i = buf.length - 1; i >= Math.max(0, buf.length - 3); i--) {
    if ((buf[i] & 0xc0) !== 0x80)
      return buf.length - i < sequenceLength(buf[i]) ? Buffer.from(buf.subarray(i)) : Buffer.alloc(0);
  }
  return Buffer.alloc(0);
}
