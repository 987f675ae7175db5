// One request to the running gateway over its control socket, for the commands that act on live state
// (sessions, the unlocked credential store, the console): its answer, or an error saying why not.
import { callControl, controlSocketPath, type ControlRequest } from '../system/control-socket.js';

/** `why` completes "the gateway is not running" when there is no gateway to ask. */
export async function askGateway(dataDir: string, request: ControlRequest, why = ''): Promise<Record<string, unknown>> {
  let answer;
  try {
    answer = await callControl(controlSocketPath(dataDir), request);
  } catch (err) {
    if (/not running/.test((err as Error).message)) throw new Error(`the gateway is not running${why ? `: ${why}` : ''}`);
    throw err;
  }
  if (!answer.ok) throw new Error(answer.error);
  return answer;
}
