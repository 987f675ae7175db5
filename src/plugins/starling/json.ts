// Reading Starling's JSON answers without trusting their shape.

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Starling's error body `{"errorMessage":{"errorCode":…,"message":…}}`, as far as it is there. */
export function starlingError(json: unknown): { code?: number; message: string } {
  const error = isObject(json) && isObject(json.errorMessage) ? json.errorMessage : {};
  return {
    ...(typeof error.errorCode === 'number' ? { code: error.errorCode } : {}),
    message: typeof error.message === 'string' ? error.message : '',
  };
}
