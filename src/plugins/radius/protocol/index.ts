// Our own RADIUS authentication client (RFC 2865, RFC 3579 Message-Authenticator, BlastRADIUS
// hardening) over node:dgram: no package, so a plugin zip can carry it (relative modules and
// node: built-ins only). Imports nothing outside this folder.
export { RadiusClient, RadiusTimeoutError, type RadiusClientSettings } from './client.js';
export { challengePrompt, type AccessRequest, type RadiusAnswer } from './access.js';
