/**
 * @internal The Redis Cluster hash slot of a key (CRC16-XMODEM of its hash tag, mod 16384), as
 * CLUSTER KEYSLOT computes it: keys of one slot may share a pipeline, a MULTI or a blocking read.
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    // An empty tag ("{}") does not count: the whole key is hashed.
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
