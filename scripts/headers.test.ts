// The page may contact its own origin and the official weights addresses the weights panel offers; a new
// address in the panel without the policy would fail in the browser only, with a CSP error.
import { describe, expect, it } from 'vitest';
import { OFFICIAL_WEIGHTS } from '../src/app/lib/backbones';
import { CONTENT_SECURITY_POLICY } from './headers';

describe('Content-Security-Policy', () => {
  it("connect-src allows exactly the page and the weights panel's download origins", () => {
    const connect = CONTENT_SECURITY_POLICY.split('; ').find((d) => d.startsWith('connect-src '))!.split(' ').slice(1);
    const offered = [...new Set(Object.values(OFFICIAL_WEIGHTS).map((w) => new URL(w.url).origin))];
    expect(offered).toContain('http://dl.caffe.berkeleyvision.org');
    expect(connect.sort()).toEqual(["'self'", ...offered].sort());
  });
});
