import { useEffect, useRef, useState } from 'react';
import { heatLayer } from '../../lib/heat';
import type { InspectItem } from '../../stores/inspect';

const SIDE = 112;

/** A small picture of a result with its heatmap; a placeholder when the file cannot be shown. */
export function HeatThumb({ item, palette }: { item: InspectItem; palette: Uint8Array | null }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [broken, setBroken] = useState(item.status === 'error');
  const cal = item.judgedBy?.calibration;
  useEffect(() => {
    if (item.status === 'error') {
      setBroken(true);
      return;
    }
    let cancelled = false;
    createImageBitmap(item.blob)
      .then((bmp) => {
        const c = ref.current;
        if (cancelled || !c) return bmp.close();
        const s = SIDE / Math.max(bmp.width, bmp.height);
        c.width = Math.max(1, Math.round(bmp.width * s));
        c.height = Math.max(1, Math.round(bmp.height * s));
        const ctx = c.getContext('2d')!;
        ctx.drawImage(bmp, 0, 0, c.width, c.height);
        bmp.close();
        if (item.map && item.mapWidth && item.mapHeight && cal && palette) {
          const layer = new OffscreenCanvas(item.mapWidth, item.mapHeight);
          layer.getContext('2d')!.putImageData(heatLayer(item.map, item.mapWidth, item.mapHeight, { low: cal.mapLow, high: cal.mapHigh }, palette), 0, 0);
          ctx.globalAlpha = 0.6;
          ctx.drawImage(layer, 0, 0, c.width, c.height);
          ctx.globalAlpha = 1;
        }
        setBroken(false);
      })
      .catch(() => !cancelled && setBroken(true));
    return () => {
      cancelled = true;
    };
  }, [item.blob, item.map, item.mapWidth, item.mapHeight, item.status, cal, palette]);
  return broken ? <span className="thumb-placeholder" aria-hidden="true">no preview</span> : <canvas ref={ref} className="heat-thumb" aria-hidden="true" />;
}
