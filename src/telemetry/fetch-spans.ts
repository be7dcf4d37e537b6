/**
 * Client spans for `fetch`, which the HTTP connector uses. Node's fetch is undici, which
 * `@opentelemetry/instrumentation-http` does not see; undici publishes every request on
 * `diagnostics_channel`, so we start a span there (in the caller's context, so it is a child of
 * the running activity's span) and add a `traceparent` header to carry the trace onwards.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { SpanKind, SpanStatusCode, context, propagation, trace, type Span } from '@opentelemetry/api';

/** The part of undici's request object the channels hand us (undici 6, Node 20). */
interface UndiciRequest {
  method: string;
  origin: string;
  path: string;
  addHeader(name: string, value: string): unknown;
}

/** Subscribes to undici's channels; returns the unsubscribe. */
export function traceFetch(): () => void {
  const tracer = trace.getTracer('weft-fetch');
  const spans = new WeakMap<UndiciRequest, Span>();

  const onCreate = (message: unknown) => {
    const { request } = message as { request: UndiciRequest };
    const url = new URL(request.path, request.origin);
    const span = tracer.startSpan(request.method, {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': request.method,
        'url.full': url.href,
        'server.address': url.hostname,
        'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      },
    });
    spans.set(request, span);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    for (const [name, value] of Object.entries(carrier)) request.addHeader(name, value);
  };
  const onHeaders = (message: unknown) => {
    const { request, response } = message as { request: UndiciRequest; response: { statusCode: number } };
    const span = spans.get(request);
    span?.setAttribute('http.response.status_code', response.statusCode);
    if (span && response.statusCode >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
  };
  const onTrailers = (message: unknown) => {
    const { request } = message as { request: UndiciRequest };
    spans.get(request)?.end();
    spans.delete(request);
  };
  const onError = (message: unknown) => {
    const { request, error } = message as { request: UndiciRequest; error: Error };
    const span = spans.get(request);
    if (!span) return;
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    span.end();
    spans.delete(request);
  };

  const subscriptions: Array<[string, (message: unknown) => void]> = [
    ['undici:request:create', onCreate],
    ['undici:request:headers', onHeaders],
    ['undici:request:trailers', onTrailers],
    ['undici:request:error', onError],
  ];
  for (const [name, handler] of subscriptions) diagnosticsChannel.subscribe(name, handler);
  return () => {
    for (const [name, handler] of subscriptions) diagnosticsChannel.unsubscribe(name, handler);
  };
}
