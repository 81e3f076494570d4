/**
 * Options of `StreamQueueTracingModule.forRoot()`. Importing the module bare uses the defaults.
 * @publicApi
 */
export interface StreamQueueTracingOptions {
  /**
   * A run whose enqueue's trace was not sampled: by default it starts no span, and its handler
   * runs in the enqueue's context (as a local parent, as the run's span was), so the handler's own
   * spans are decided as before. For the run's own span that is what the SDK's default sampler,
   * and a `ParentBasedSampler` with its default `remoteParentNotSampled`, would decide, at almost
   * none of the cost (the SDK builds a span id and copies attributes before a sampler drops a
   * span). `true` asks the registered sampler for every run instead: for a sampler that may record
   * a child of an unsampled remote parent. Default `false`.
   */
  askSamplerForUnsampledTraces?: boolean;
}
