// What a recording's files say, shared by the writer (chain.ts) and the verifier (verify.ts):
// file names, the chain's lines, the seed h_0 and the canonical text the .sig signs.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';

export const CHAIN_VERSION = 'gatehouse-recording-v1';

/**
 * Recording ids go into a signed text line by line: no separators, no surprises. No dot either: `<id>.1.cast`
 * must name part 1 of `<id>`, never the cast of an id ending in `.1`.
 */
export const RECORDING_ID = /^[A-Za-z0-9_:-]{1,128}$/;

/** `<base>.cast` for part 0, then `<base>.1.cast`, `<base>.2.cast`, … */
export function castPath(base: string, part: number): string {
  return part === 0 ? `${base}.cast` : `${base}.${part}.cast`;
}
export const chainPath = (base: string): string => `${base}.chain`;
export const signaturePath = (base: string): string => `${base}.sig`;

/** The name a chain entry gives its cast file: the file name alone, so a recording can be moved. */
export const castName = (base: string, part: number): string => basename(castPath(base, part));

/** h_0 = SHA-256("gatehouse-recording-v1\n" || id). */
export function seedHash(id: string): Buffer {
  return createHash('sha256').update(`${CHAIN_VERSION}\n`).update(id).digest();
}

/** First line of `<base>.chain`. */
export interface ChainHeader {
  version: typeof CHAIN_VERSION;
  id: string;
  /** The connection policy that made the recording (its retention); not covered by the signature. */
  policy?: string;
}

/** Every further line of `<base>.chain`: one closed chunk, h_i = SHA-256(h_{i-1} || bytes). */
export interface ChainEntry {
  chunk: number;
  file: string;
  offset: number;
  length: number;
  hash: string;
}

/** Contents of `<base>.sig`. */
export interface RecordingSignature {
  version: typeof CHAIN_VERSION;
  id: string;
  finalHash: string;
  chunks: number;
  bytes: number;
  keyFingerprint: string;
  /** Ed25519 over `signedText(...)`, base64. */
  signature: string;
}

/** The canonical text the signature covers. */
export function signedText(s: Omit<RecordingSignature, 'signature' | 'version'>): string {
  return `${CHAIN_VERSION}\nid=${s.id}\nfinal=${s.finalHash}\nchunks=${s.chunks}\nbytes=${s.bytes}\nkey=${s.keyFingerprint}\n`;
}
