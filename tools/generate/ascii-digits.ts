/**
 * Writing ASCII text and decimal digits straight into byte buffers: the generator builds every
 * line byte by byte, without intermediate strings.
 */

export const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const ZERO = 0x30;

/** Writes the decimal digits of a non-negative int32, left-padded with zeros to `width`. */
export function putInt(buf: Uint8Array, pos: number, value: number, width: number): number {
  let len = 1;
  for (let v = value; v >= 10; v = (v / 10) | 0) len += 1;
  if (len < width) len = width;
  let v = value;
  for (let p = pos + len - 1; p >= pos; p -= 1) {
    const q = (v / 10) | 0;
    buf[p] = ZERO + v - q * 10;
    v = q;
  }
  return pos + len;
}

/** Writes the decimal digits of a safe non-negative integer, left-padded with zeros to `width`. */
export function putDigits(buf: Uint8Array, pos: number, value: number, width: number): number {
  if (value < 0x80000000) return putInt(buf, pos, value, width);
  // high * 1e9 + low, both int32 (a safe integer is below 9.1e15).
  let high = Math.floor(value / 1e9);
  let low = value - high * 1e9;
  if (low < 0) {
    high -= 1;
    low += 1e9;
  } else if (low >= 1e9) {
    high += 1;
    low -= 1e9;
  }
  return putInt(buf, putInt(buf, pos, high, width - 9), low, 9);
}

/** The decimal digits of consecutive integers, incremented in place. */
export class Odometer {
  private bytes: Uint8Array;
  private value: number;

  constructor(start: number) {
    this.value = start;
    this.bytes = ascii(String(start));
  }

  /** The digits of `value` (cheap when it is the previous value or the one after it). */
  digits(value: number): Uint8Array {
    if (value === this.value + 1) {
      this.value = value;
      let p = this.bytes.length - 1;
      while (p >= 0 && this.bytes[p] === 0x39) this.bytes[p--] = ZERO;
      if (p >= 0) this.bytes[p] += 1;
      else this.bytes = ascii(String(value));
    } else if (value !== this.value) {
      this.value = value;
      this.bytes = ascii(String(value));
    }
    return this.bytes;
  }
}

/** Two digits of 0–99. */
export function put2(buf: Uint8Array, pos: number, value: number): number {
  const tens = (value / 10) | 0;
  buf[pos] = ZERO + tens;
  buf[pos + 1] = ZERO + value - tens * 10;
  return pos + 2;
}

export function putBytes(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i += 1) buf[pos + i] = bytes[i];
  return pos + bytes.length;
}
