// Response headers of every server of the app (dev, preview, scripts/serve.ts). Cross-origin isolation
// lets WASM use threads (SharedArrayBuffer); the policy keeps every byte on this machine except the
// official weights address that `npm start` and the weights panel offer.

export const WEIGHTS_ORIGIN = 'https://download.pytorch.org';
/** The Caffe model zoo, where BVLC publishes GoogLeNet (plain http: the address its readme gives). */
export const CAFFE_ZOO_ORIGIN = 'http://dl.caffe.berkeleyvision.org';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  // wasm-unsafe-eval: compiling TF.js's WASM kernels; blob: the WASM backend's thread workers.
  "script-src 'self' 'wasm-unsafe-eval' blob:",
  "worker-src 'self' blob:",
  `connect-src 'self' ${WEIGHTS_ORIGIN} ${CAFFE_ZOO_ORIGIN}`,
  "img-src 'self' blob: data:",
  "media-src 'self' blob: mediastream:",
  "style-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

export const ISOLATION_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export const SECURITY_HEADERS: Record<string, string> = {
  ...ISOLATION_HEADERS,
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': 'camera=(self), microphone=()',
};
