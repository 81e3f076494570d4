import {
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  trace,
  type Context,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { DeferredParent } from './deferred-parent';
import { decodeCarrier } from './trace-carrier';

const TRACER_NAME = 'nest-stream-queue';
/** What trace.getTracerProvider() delegates to while no SDK registered a provider. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * What tracing keeps of the registered SDK: its tracer (getTracer() builds a lookup key per call)
 * and the last trace field a run extracted. Every task of an enqueueMany() carries the same field
 * and a worker reads them in a row: they share one extraction (contexts are immutable). A new
 * provider, as an SDK's (re)start registers with its propagator, starts afresh.
 */
/** @internal */
export interface Registered {
  readonly provider: TracerProvider;
  readonly tracer: Tracer;
  lastField?: string;
  lastParent: Context;
  /** The deferred parent of the last unsampled field a run entered (see deferredParentOf). */
  lastDeferred?: DeferredParent;
}
let registered: Registered | undefined;

/**
 * @internal The registered SDK, or undefined while none is: then an enqueue writes no trace field and a
 * run starts no span. Checked per call, since an SDK may register after the app booted.
 */
export function activeSdk(): Registered | undefined {
  const provider: TracerProvider = trace.getTracerProvider();
  const real = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  if (real === NOOP_PROVIDER) return undefined;
  if (registered?.provider !== real) {
    registered = { provider: real, tracer: real.getTracer(TRACER_NAME), lastParent: ROOT_CONTEXT };
  }
  return registered;
}

/** @internal The context a run's span is a child of: its enqueue's, from field t, or the root. */
export function parentOf(sdk: Registered, field: string | undefined): Context {
  if (field === undefined) return ROOT_CONTEXT;
  if (field !== sdk.lastField) {
    const carrier = decodeCarrier(field);
    sdk.lastParent = carrier ? extracted(carrier) : ROOT_CONTEXT;
    sdk.lastField = field;
  }
  return sdk.lastParent;
}

/**
 * The registered propagator's context of a carrier, or the root when it throws: the field is
 * anyone's to write, and a propagator may throw on a malformed header (Jaeger's decodes its
 * header with decodeURIComponent). A throw here would fail the run before its handler.
 */
function extracted(carrier: Record<string, string>): Context {
  try {
    return propagation.extract(ROOT_CONTEXT, carrier);
  } catch {
    return ROOT_CONTEXT;
  }
}

/**
 * @internal An extracted context as a handler's parent when the run has no span of its own: its
 * span context made local. Without a run span, the handler's spans would be children of a remote
 * parent, which a ParentBasedSampler decides by `remoteParentNotSampled`; a run span made them
 * children of a local one (`localParentNotSampled`). This keeps that decision.
 */
export function asLocalParent(parent: Context): Context {
  const spanContext = trace.getSpanContext(parent);
  return spanContext?.isRemote ? trace.setSpanContext(parent, { ...spanContext, isRemote: false }) : parent;
}
