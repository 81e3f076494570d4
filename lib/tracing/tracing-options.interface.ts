/**
 * Options of `StreamQueueTracingModule.forRoot()`. Importing the module bare uses the defaults.
 * @publicApi
 */
export interface StreamQueueTracingOptions {
  /**
   * A run whose enqueue's trace was not sampled: by default it starts no span, and its handler
   * runs in the enqueue's context, so the handler's own spans are not sampled either. That is what
   * the SDK's default sampler, and any `ParentBasedSampler`, would decide for the run's span, at
   * almost none of its cost (the SDK builds a span id and checks attributes before a sampler
   * drops a span). `true` asks the registered sampler for every run instead: for a sampler that
   * may record a child of an unsampled parent. Default `false`.
   */
  askSamplerForUnsampledTraces?: boolean;
}
