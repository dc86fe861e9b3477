/**
 * A typed stand-in for the API server, for unit tests of I/O code: give it the calls a test needs
 * (answers as plain async functions) and it is a KubeApi; a call it was not given fails loudly,
 * naming the request. Every request is recorded in `calls`. The real API server is the e2e tests'.
 */
import type { KubeApi, RequestOptions } from '../../shared/kube/client.js';

export interface FakeAnswers {
  request?(method: string, path: string, options?: RequestOptions): Promise<unknown>;
  getOrNull?(path: string, options?: RequestOptions): Promise<unknown>;
  watch?(path: string, options: RequestOptions, onEvent: (event: { type: string; object: unknown }) => void): Promise<void>;
}

export interface FakeKube extends KubeApi {
  readonly calls: { readonly method: string; readonly path: string; readonly options: RequestOptions | undefined }[];
}

export function fakeKube(answers: FakeAnswers): FakeKube {
  const calls: FakeKube['calls'] = [];
  const missing = (method: string, path: string): Error => new Error(`fake-kube: no answer given for ${method} ${path}`);
  const fake = {
    calls,
    request(method: string, path: string, options?: RequestOptions) {
      calls.push({ method, path, options });
      return answers.request ? answers.request(method, path, options) : Promise.reject(missing(method, path));
    },
    getOrNull(path: string, options?: RequestOptions) {
      calls.push({ method: 'GET', path, options });
      return answers.getOrNull ? answers.getOrNull(path, options) : Promise.reject(missing('GET', path));
    },
    watch(path: string, options: RequestOptions, onEvent: (event: { type: string; object: unknown }) => void) {
      calls.push({ method: 'WATCH', path, options });
      return answers.watch ? answers.watch(path, options, onEvent) : Promise.reject(missing('WATCH', path));
    },
    close: () => undefined,
  };
  // The answers are untyped JSON, as the real client's are: the generic methods' T is the caller's claim.
  return fake as FakeKube;
}
