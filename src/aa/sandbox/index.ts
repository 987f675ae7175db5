// The AA plugin sandbox: runs a plugin's hooks in confined worker processes and speaks the hook
// protocol (PROTOCOL.md). Imports only src/log; the gateway imports this, never the reverse.
export { PluginSandbox, memoryOverheadMb, type PluginSandboxOptions } from './sandbox.js';
export type { PluginLdap } from './plugin-worker.js';
export type { AuthenticateArguments, AuthorizeArguments, Cookie, HookArguments, HookName, SessionEndedArguments } from './hook-arguments.js';
export type { FailureKind, HookResult, PluginAnswer, Question, SandboxDenial } from './hook-result.js';
export type { UserListSnapshot } from './messages.js';
