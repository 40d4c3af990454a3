import { useEffect, useRef } from 'react';
import type { HeatScale } from '../../core/inspection';
import { formatScore } from '../lib/format';

interface Props {
  scale: HeatScale;
  palette: Uint8Array;
}

/** The heatmap's fixed colour scale, from the model's calibration. */
export function Legend({ scale, palette }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const w = ctx.canvas.width;
    for (let x = 0; x < w; x++) {
      const t = x / (w - 1);
      const c = Math.round(t * 255) * 3;
      ctx.fillStyle = `rgba(${palette[c]},${palette[c + 1]},${palette[c + 2]},${Math.min(1, 0.35 + 0.65 * t)})`;
      ctx.fillRect(x, 0, 1, ctx.canvas.height);
    }
  }, [palette]);
  return (
    <figure className="legend" aria-label={`Defect heatmap colour scale from ${formatScore(scale.low)} to ${formatScore(scale.high)}`}>
      <canvas ref={ref} width={300} height={12} />
      <figcaption className="small muted">
        <span title="At or below: no colour (99th percentile of the held-out good images' pixels)">≤ {formatScore(scale.low)}</span>
        <span title="The largest pixel of the held-out good images">good top {formatScore(scale.high)}</span>
        <span title="Above the good range, colours spread up to each image's own peak">image peak</span>
      </figcaption>
    </figure>
  );
}
