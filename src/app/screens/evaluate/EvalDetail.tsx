import { useEffect, useRef } from 'react';
import { displayScore, formatDisplayScore, formatRawScore, type DisplayScale } from '../../../core/inspection';
import { HeatmapCanvas } from '../../components/HeatmapCanvas';
import { Legend } from '../../components/Legend';
import { MarkWrong } from '../../components/MarkWrong';
import type { ModelRecord } from '../../persistence/models';
import { useEngine } from '../../stores/engine';
import { mapKey, useEvaluate, type EvalItem } from '../../stores/evaluate';
import { neighbour, outcomeOf } from './diagnosis';

const OUTCOME_TEXT = { 'true-defect': 'defect found', 'false-alarm': 'false alarm', miss: 'missed defect', 'true-ok': 'good part passed' } as const;

interface Props {
  item: EvalItem;
  /** The table's order, for next and previous. */
  order: EvalItem[];
  record: ModelRecord;
  threshold: number | null;
  scale: DisplayScale | null;
}

/** One labelled image in full: heatmap, ground-truth mask, score and verdict at the current threshold. */
export function EvalDetail({ item, order, record, threshold, scale }: Props) {
  const open = useEvaluate((s) => s.openDetail);
  const map = useEvaluate((s) => s.maps[mapKey(item.id, record)]);
  const palette = useEngine((s) => s.palette);
  const dialog = useRef<HTMLDivElement>(null);
  const cal = record.calibration;
  const verdict = outcomeOf(item, threshold);
  const position = order.findIndex((it) => it.id === item.id);

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    dialog.current?.focus();
    return () => before?.focus?.();
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const target = e.target as HTMLElement;
      // Arrow keys belong to a focused slider or select.
      if (target && /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) && e.key !== 'Escape') return;
      const go = (step: 1 | -1) => {
        const id = neighbour(order, item.id, step);
        if (id) open(id);
        e.preventDefault();
      };
      if (e.key === 'Tab' && dialog.current) {
        // Keep focus inside the dialog while it is open.
        const focusable = [...dialog.current.querySelectorAll<HTMLElement>('button:not(:disabled), [href], input, select, [tabindex]:not([tabindex="-1"])')];
        if (focusable.length === 0) return;
        const first = focusable[0];
        const last = focusable[focusable.length - 1];
        if (e.shiftKey && (document.activeElement === first || document.activeElement === dialog.current)) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && document.activeElement === last) {
          e.preventDefault();
          first.focus();
        }
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        open(null);
      } else if (e.key === 'ArrowRight' || e.key === 'ArrowDown' || e.key === 'j' || e.key === 'J') go(1);
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp' || e.key === 'k' || e.key === 'K') go(-1);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [order, item.id, open]);

  const loaded = map && map !== 'loading' && 'map' in map ? map : null;
  return (
    <div className="modal-backdrop" onClick={(e) => e.target === e.currentTarget && open(null)}>
      <div className="modal card" role="dialog" aria-modal="true" aria-labelledby="eval-detail-title" tabIndex={-1} ref={dialog} data-testid="eval-detail" data-item={item.name}>
        <div className="row spread wrap">
          <h2 id="eval-detail-title" className="break">
            {item.name}
          </h2>
          <div className="row">
            <button type="button" className="secondary" onClick={() => open(neighbour(order, item.id, -1))} title="Previous image (K or ←)" data-testid="eval-detail-prev">
              ‹ Prev
            </button>
            <span className="small muted">
              {position + 1} / {order.length}
            </span>
            <button type="button" className="secondary" onClick={() => open(neighbour(order, item.id, 1))} title="Next image (J or →)" data-testid="eval-detail-next">
              Next ›
            </button>
            <button type="button" onClick={() => open(null)} title="Close (Escape)" data-testid="eval-detail-close">
              Close
            </button>
          </div>
        </div>
        <div className="row wrap" data-testid="eval-detail-summary">
          <span>
            Label: <strong>{item.label === 1 ? `defect (${item.category})` : 'good'}</strong>
          </span>
          <span title={item.score !== undefined ? `raw DifferNet score ${formatRawScore(item.score)}` : undefined}>
            Score:{' '}
            <strong data-testid="eval-detail-score">
              {item.score === undefined ? '—' : scale ? formatDisplayScore(displayScore(item.score, scale)) : `raw ${formatRawScore(item.score)}`}
            </strong>
          </span>
          {verdict && (
            <span className={`verdict big ${verdict.flagged ? 'defect' : 'ok'}`} data-testid="eval-detail-verdict">
              {verdict.flagged ? 'DEFECT' : 'OK'} · {OUTCOME_TEXT[verdict.outcome]}
            </span>
          )}
          {item.error && <span className="error-text">{item.error}</span>}
        </div>
        <div className="detail-panes">
          <figure>
            <figcaption className="small muted">
              Defect heatmap {map === 'loading' || !map ? '(computing…)' : !loaded ? `(unavailable: ${(map as { error: string }).error})` : ''}
            </figcaption>
            <HeatmapCanvas
              image={item.blob}
              map={loaded?.map}
              mapWidth={loaded?.width}
              mapHeight={loaded?.height}
              scale={cal ? { low: cal.mapLow, high: cal.mapHigh } : null}
              palette={palette}
              opacity={0.6}
              outline
              label={`${item.name} with defect heatmap`}
            />
            {loaded && <span hidden data-testid="eval-detail-map-ready" />}
          </figure>
          <figure>
            <figcaption className="small muted">Ground-truth mask</figcaption>
            {item.maskUrl ? (
              <img src={item.maskUrl} alt={`Ground-truth defect mask of ${item.name}`} className="mask-image" data-testid="eval-detail-mask" />
            ) : (
              <p className="muted small placeholder-box">{item.label === 1 ? 'No mask for this image.' : 'Good image: nothing to mark.'}</p>
            )}
          </figure>
        </div>
        {cal && palette && <Legend scale={{ low: cal.mapLow, high: cal.mapHigh }} palette={palette} />}
        <MarkWrong target={{ modelId: record.id, blob: item.blob, name: item.name, from: 'evaluate' }} />
        <p className="small muted">← → or J / K: previous and next image · Escape: close</p>
      </div>
    </div>
  );
}
