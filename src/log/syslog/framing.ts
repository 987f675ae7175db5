// Transport framing of formatted RFC 5424 messages: octet counting (RFC 6587 §3.4.1, RFC 5425) and the UDP
// datagram size limit (RFC 5426).

/** `MSG-LEN SP SYSLOG-MSG`, MSG-LEN = byte length in decimal. */
export function octetCount(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
}

/** RFC 5426 §3.2: receivers SHOULD accept 2048 octets. */
export const DEFAULT_MAX_DATAGRAM = 2048;

/**
 * Cuts the MSG part so the message fits `maxBytes`, never inside a UTF-8 sequence. Header and structured
 * data are never cut: if they alone do not fit, this throws (use TCP/TLS or a larger limit).
 */
export function fitDatagram(message: Buffer, maxBytes = DEFAULT_MAX_DATAGRAM): Buffer {
  if (message.length <= maxBytes) return message;
  const msgStart = findMsgStart(message);
  if (msgStart === -1 || msgStart - 1 > maxBytes) {
    throw new RangeError(`syslog header and structured data do not fit in ${maxBytes} bytes`);
  }
  let cut = maxBytes;
  while (cut > msgStart && (message[cut]! & 0xc0) === 0x80) cut--; // back off to a UTF-8 lead byte
  return message.subarray(0, cut > msgStart ? cut : msgStart - 1); // no MSG left: drop its SP too
}

// Index of the first MSG byte, or -1 when the message has none.
function findMsgStart(m: Buffer): number {
  let i = 0;
  for (let spaces = 0; spaces < 6; i++) {
    if (i >= m.length) return -1;
    if (m[i] === 0x20) spaces++;
  }
  if (m[i] === 0x2d) i++; // "-": no structured data
  else {
    while (m[i] === 0x5b) i = elementEnd(m, i);
  }
  return i < m.length && m[i] === 0x20 ? i + 1 : -1;
}

// Index after the ']' closing the SD-ELEMENT starting at `i`; '\' escapes and ']' only count inside values.
function elementEnd(m: Buffer, i: number): number {
  let quoted = false;
  for (i++; i < m.length; i++) {
    const c = m[i];
    if (quoted && c === 0x5c) i++;
    else if (c === 0x22) quoted = !quoted;
    else if (!quoted && c === 0x5d) return i + 1;
  }
  return m.length;
}
