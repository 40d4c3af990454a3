// Which backbone a new model gets, and the one sentence that says why GoogLeNet is preferred.
import type { BackboneId } from '../../core';
// The settings module is free of TF.js, so the UI bundle does not pull TF.js in for this.
import { BACKBONE_EVIDENCE } from '../../core/model/settings';

/**
 * The official files and where the panel offers to download them, listed best first (the default leads).
 * The page's Content-Security-Policy must allow each address (scripts/headers.ts; serve.test.ts checks).
 */
export const OFFICIAL_WEIGHTS: Record<BackboneId, { file: string; url: string }> = {
  // The Caffe model zoo's address, as BVLC/caffe's models/bvlc_googlenet/readme.md gives it.
  googlenet: { file: 'bvlc_googlenet.caffemodel', url: 'http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel' },
  alexnet: { file: 'alexnet-owt-7be5be79.pth', url: 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth' },
  squeezenet1_1: { file: 'squeezenet1_1-b8a52dc0.pth', url: 'https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth' },
};

/** Best first: GoogLeNet's mid-level features detect the most (BENCHMARKS.md), then the paper's AlexNet. */
export const BACKBONE_PREFERENCE: BackboneId[] = ['googlenet', 'alexnet', 'squeezenet1_1'];

/** The most preferred backbone whose weights are loaded; GoogLeNet when none are, so the panel offers its download. */
export function defaultBackbone(loaded: Partial<Record<BackboneId, unknown>>): BackboneId {
  return BACKBONE_PREFERENCE.find((id) => loaded[id]) ?? BACKBONE_PREFERENCE[0];
}

/** The most preferred backbone whose weights are not loaded yet (the one worth downloading), if any. */
export function missingBackbone(loaded: Partial<Record<BackboneId, unknown>>): BackboneId | undefined {
  return BACKBONE_PREFERENCE.find((id) => !loaded[id]);
}

/** Tap names for people: inception_3b, inception_4a -> "inception_3b + 4a" (the shared prefix once). */
export function tapsLabel(taps: readonly string[]): string {
  const prefix = /^(.*_)/.exec(taps[0] ?? '')?.[1] ?? '';
  return taps.map((t, i) => (i > 0 && prefix && t.startsWith(prefix) ? t.slice(prefix.length) : t)).join(' + ');
}

const NAME: Record<BackboneId, string> = { googlenet: 'GoogLeNet', alexnet: 'AlexNet', squeezenet1_1: 'SqueezeNet' };

/** The measured reason in one sentence; without entered numbers it names the source and no figures. */
export function evidenceSentence(e = BACKBONE_EVIDENCE): string {
  const best = e.auroc[e.best];
  const other = e.auroc[e.against];
  const measured = typeof best === 'number' && typeof other === 'number' && Number.isFinite(best) && Number.isFinite(other);
  return measured
    ? `${NAME[e.best]}'s mid-level features find the most defects: on ${e.dataset} its default model scores image AUROC ${best.toFixed(1)} against ${other.toFixed(1)} for ${NAME[e.against]} (${e.source}).`
    : `${NAME[e.best]}'s mid-level features find the most defects: on ${e.dataset} its default model scores the highest image AUROC, above ${NAME[e.against]} (${e.source}).`;
}
