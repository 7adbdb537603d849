/** Error codes of the local runtime (child processes on 127.0.0.x). */
export const LocalRuntimeCodes = {
  LOCAL_NO_HOST_AVAILABLE: 'LOCAL_NO_HOST_AVAILABLE',
  LOCAL_INVALID_SPEC: 'LOCAL_INVALID_SPEC',
  LOCAL_SPAWN_FAILED: 'LOCAL_SPAWN_FAILED',
  LOCAL_INVALID_HOST_RANGE: 'LOCAL_INVALID_HOST_RANGE',
} as const;
