// HTTPS for cloud MFA plugins: one JSON request (request.ts), through an optional CONNECT proxy
// (proxy.ts), configured from the SDK's common sections (settings.ts).
export { httpsJson, DEFAULT_MAX_BYTES, type HttpsJsonRequest, type HttpsJsonResponse } from './request.js';
export type { HttpsProxy } from './proxy.js';
export { readHttpsSettings, type HttpsSettings } from './settings.js';
