// One Access-Request and what its reply means (RFC 2865 §4, RFC 2869 §5.10 Prompt).
import { signRequest } from './authenticators.js';
import { Attribute, Code, type RadiusAttribute, type RadiusPacket } from './packet.js';
import { chapPassword, hideUserPassword } from './passwords.js';

const SERVICE_TYPE_LOGIN = 1;
const PROMPT_ECHO = 1;

export interface AccessRequest {
  username: string;
  password: string;
  /** The State of the Access-Challenge this request answers, copied unmodified. */
  state?: Buffer;
}

export type RadiusAnswer =
  | { kind: 'accept'; replyMessage?: string }
  | { kind: 'reject'; replyMessage?: string }
  /** `state` is empty when the server sent none; `echo` is false unless Prompt says Echo. */
  | { kind: 'challenge'; replyMessage: string; echo: boolean; state: Buffer };

export interface RequestSettings {
  secret: string;
  authType: 'pap' | 'chap';
  nasIdentifier: string;
}

/**
 * The signed Access-Request. Message-Authenticator comes first (BlastRADIUS guidance); CHAP uses
 * the Request Authenticator as its challenge and the Identifier as its CHAP Ident.
 */
export function encodeAccessRequest(request: AccessRequest, settings: RequestSettings, identifier: number, authenticator: Buffer): Buffer {
  const secret = Buffer.from(settings.secret, 'utf8');
  const password = Buffer.from(request.password, 'utf8');
  const attributes: RadiusAttribute[] = [
    { type: Attribute.MessageAuthenticator, value: Buffer.alloc(16) },
    { type: Attribute.UserName, value: Buffer.from(request.username, 'utf8') },
    settings.authType === 'pap'
      ? { type: Attribute.UserPassword, value: hideUserPassword(password, secret, authenticator) }
      : { type: Attribute.ChapPassword, value: chapPassword(identifier, password, authenticator) },
    { type: Attribute.ServiceType, value: uint32(SERVICE_TYPE_LOGIN) },
    { type: Attribute.NasIdentifier, value: Buffer.from(settings.nasIdentifier, 'utf8') },
  ];
  if (request.state?.length) attributes.push({ type: Attribute.State, value: request.state });
  return signRequest({ code: Code.AccessRequest, identifier, authenticator, attributes }, secret);
}

/** The answer an authenticated reply gives, or undefined for a code that does not answer an Access-Request. */
export function readAnswer(reply: RadiusPacket): RadiusAnswer | undefined {
  const values = (type: number) => reply.attributes.filter((attribute) => attribute.type === type).map((attribute) => attribute.value);
  // Several Reply-Messages are shown in order (RFC 2865 §5.18); NULs are dropped, as SPS does.
  const messages = values(Attribute.ReplyMessage);
  const replyMessage = messages.length ? Buffer.concat(messages).toString('utf8').replaceAll('\0', '') : undefined;
  const withMessage = replyMessage === undefined ? {} : { replyMessage };
  switch (reply.code) {
    case Code.AccessAccept:
      return { kind: 'accept', ...withMessage };
    case Code.AccessReject:
      return { kind: 'reject', ...withMessage };
    case Code.AccessChallenge: {
      const prompt = values(Attribute.Prompt)[0];
      // No Prompt, or a malformed one, means no echo: the safer guess for a one-time password.
      const echo = prompt?.length === 4 && prompt.readUInt32BE(0) === PROMPT_ECHO;
      return { kind: 'challenge', replyMessage: replyMessage ?? '', echo, state: values(Attribute.State)[0] ?? Buffer.alloc(0) };
    }
    default:
      return undefined;
  }
}

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

/** An Access-Challenge's Reply-Message as a prompt: never empty, a space before the answer. */
export function challengePrompt(replyMessage: string): string {
  return `${replyMessage.trim() || 'Response:'} `;
}
