import { useRef, useState, type KeyboardEvent } from 'react';
import { scoredPartOf } from '../../lib/snapshotMeta';
import { SortHeader as ColumnHeader } from '../../components/SortHeader';
import { DropZone } from '../../components/DropZone';
import { MarkWrong } from '../../components/MarkWrong';
import { HeatmapCanvas, type HeatmapHandle } from '../../components/HeatmapCanvas';
import { Legend } from '../../components/Legend';
import { ProgressBar } from '../../components/ProgressBar';
import { downloadBlob, safeFileName } from '../../lib/download';
import { batchZip, overlayPng } from '../../lib/overlay';
import { neighbour } from '../evaluate/diagnosis';
import { reportError } from '../../stores/notices';
import { DriftPanel } from './DriftPanel';
import { HeatThumb } from './HeatThumb';
import { formatDisplayScore, formatRawScore, versionLabel } from '../../../core/inspection';
import { useEngine } from '../../stores/engine';
import { sameJudge, useInspect, type SortKey } from '../../stores/inspect';
import { useModels } from '../../stores/models';
import { displayOf, overlayInput, resultsCsv, resultsJson, verdictOf, visibleItems } from './results';

function SortHeader({ k, label }: { k: SortKey; label: string }) {
  const sort = useInspect((s) => s.sort);
  const set = useInspect((s) => s.set);
  return <ColumnHeader k={k} label={label} sort={sort} onSort={(next) => set({ sort: next })} />;
}

export function InspectScreen() {
  const record = useModels((s) => s.records.find((r) => r.id === s.activeId) ?? null);
  const palette = useEngine((s) => s.palette);
  const st = useInspect();
  const canvas = useRef<HeatmapHandle>(null);
  const cal = record?.calibration ?? null;
  const rows = visibleItems(st.items, st.filter, st.search, st.sort);
  const stale = record ? st.items.filter((it) => it.status === 'done' && !sameJudge(it.judgedBy, record)).length : 0;
  const models = new Set(st.items.map((it) => it.judgedBy && `${it.judgedBy.modelId}@${it.judgedBy.version}`).filter(Boolean));
  const selected = st.items.find((i) => i.id === st.selectedId) ?? null;
  const done = st.items.filter((i) => i.status === 'done' || i.status === 'error').length;
  const trained = !!record && record.version > 0;
  const counts = { ok: 0, defect: 0 };
  for (const it of st.items) {
    const v = verdictOf(it);
    if (v === 'OK') counts.ok++;
    if (v === 'DEFECT') counts.defect++;
  }

  const [zipping, setZipping] = useState<{ done: number; total: number } | null>(null);
  const table = useRef<HTMLTableElement>(null);
  // ↑ ↓ (or J / K, as in Evaluate's detail view) move through the rows in the order shown; Home / End jump.
  const onTableKey = (e: KeyboardEvent<HTMLTableElement>) => {
    if (e.altKey || e.ctrlKey || e.metaKey || rows.length === 0) return;
    const at = st.selectedId ?? rows[0].id;
    let id: string | null = null;
    if (e.key === 'ArrowDown' || e.key === 'j' || e.key === 'J') id = neighbour(rows, at, 1);
    else if (e.key === 'ArrowUp' || e.key === 'k' || e.key === 'K') id = neighbour(rows, at, -1);
    else if (e.key === 'Home') id = rows[0].id;
    else if (e.key === 'End') id = rows[rows.length - 1].id;
    if (!id) return;
    e.preventDefault();
    st.select(id);
    table.current?.querySelector<HTMLButtonElement>(`tr[data-id="${CSS.escape(id)}"] button`)?.focus();
  };
  const queued = st.items.filter((i) => i.status === 'queued').length;
  const scoredItems = st.items.filter((i) => i.status === 'done' && i.score !== undefined);
  const exportZip = async () => {
    const list = [...st.items].sort((a, b) => a.order - b.order).filter((i) => i.status === 'done' && i.score !== undefined);
    setZipping({ done: 0, total: list.length });
    try {
      const zip = await batchZip(
        list.map(overlayInput),
        resultsCsv(st.items),
        resultsJson(st.items),
        palette,
        (done, total) => setZipping({ done, total }),
      );
      downloadBlob(zip, `inspection-${safeFileName(record?.name ?? 'model')}.zip`);
    } catch (e) {
      reportError(e, 'The overlays could not be exported');
    } finally {
      setZipping(null);
    }
  };

  const exportAs = (kind: 'csv' | 'json') => {
    const name = record?.name ?? 'model';
    const text = kind === 'csv' ? resultsCsv(st.items) : resultsJson(st.items);
    downloadBlob(new Blob([text], { type: kind === 'csv' ? 'text/csv' : 'application/json' }), `inspection-${safeFileName(name)}.${kind}`);
  };

  return (
    <div className="screen" data-testid="inspect-screen">
      <h1>Inspect</h1>
      {!trained ? (
        <p className="card" data-testid="no-model-hint">
          Teach and train a model first (<a href="#/teach">Teach screen</a>), or import one (<a href="#/models">Models screen</a>).
        </p>
      ) : (
        <>
          {!cal && <p className="warning-text">This model has no threshold yet: scores are shown without a verdict. Calibrate it in <a href="#/teach">Teach</a> or <a href="#/evaluate">Evaluate</a>.</p>}
          <DriftPanel record={record} />
          {st.cleared && (
            <p className="row wrap card" role="status" data-testid="cleared">
              <span>
                Batch cleared ({st.cleared.length} image{st.cleared.length === 1 ? '' : 's'}). Their verdicts stay in History.
              </span>
              <button type="button" onClick={st.undoClear} data-testid="undo-clear">
                Undo
              </button>
            </p>
          )}
          <DropZone label={`Drop images to inspect with “${record.name}”`} hint="Nothing is uploaded: every image is scored on this machine." onFiles={(f) => void Promise.all(f.map(scoredPartOf)).then((files) => st.add(files))} testId="inspect-drop" />
          {st.items.length > 0 && (
            <>
              {st.running && <ProgressBar label="Inspecting" done={done} total={st.items.length} onCancel={st.cancel} />}
              {!st.running && queued > 0 && (
                <p className="row wrap" role="status" data-testid="queued-results">
                  <span>{queued} image{queued === 1 ? ' is' : 's are'} waiting to be scored.</span>
                  <button type="button" onClick={() => void st.run()} data-testid="resume">
                    Score {queued === 1 ? 'it' : 'them'} now
                  </button>
                </p>
              )}
              {zipping && <ProgressBar label="Drawing overlays for the zip" done={zipping.done} total={zipping.total} />}
              {stale > 0 && (
                <p className="warning-text row wrap" role="status" data-testid="stale-results">
                  <span>
                    {stale} result{stale === 1 ? ' was' : 's were'} scored by another model or threshold and keep{stale === 1 ? 's' : ''} that verdict (see the Model column; “{record.name}” is now {versionLabel(record.version, record.calibration?.revision)}).
                  </span>
                  <button type="button" onClick={st.rescore} disabled={st.running} data-testid="rescore">
                    Re-score with “{record.name}”
                  </button>
                </p>
              )}
              <div className="row wrap spread">
                <div className="row wrap">
                  <label>
                    Show{' '}
                    <select value={st.filter} onChange={(e) => st.set({ filter: e.target.value as typeof st.filter })} aria-label="Filter by verdict" data-testid="inspect-filter">
                      <option value="all">all ({st.items.length})</option>
                      <option value="defect">defects ({counts.defect})</option>
                      <option value="ok">OK ({counts.ok})</option>
                      <option value="error">errors</option>
                    </select>
                  </label>
                  <label>
                    Name <input type="search" value={st.search} onChange={(e) => st.set({ search: e.target.value })} placeholder="filter…" aria-label="Filter by name" />
                  </label>
                </div>
                <div className="row wrap">
                  <button type="button" onClick={() => exportAs('csv')} data-testid="export-csv">
                    Export CSV
                  </button>
                  <button type="button" onClick={() => exportAs('json')} data-testid="export-json">
                    Export JSON
                  </button>
                  <button type="button" onClick={() => void exportZip()} disabled={scoredItems.length === 0 || zipping !== null} data-testid="export-zip" title="Every overlay PNG with its verdict, score and legend, plus the CSV and JSON">
                    Export all overlays (.zip)
                  </button>
                  <a className="button-link" href="#/report?source=batch" data-testid="inspect-report" title="Summary, model and threshold, and the flagged images with their overlays, laid out for A4 or Letter">
                    Printable report
                  </a>
                  <button type="button" className="secondary" onClick={st.clear} data-testid="inspect-clear" title="Empties the batch; Undo brings it back">
                    Clear
                  </button>
                </div>
              </div>
              <div className="inspect-layout">
                <div className="table-wrap">
                  <table className="results" data-testid="results-table" ref={table} onKeyDown={onTableKey} aria-describedby="inspect-keys">
                    <caption id="inspect-keys" className="caption-hint small muted">
                      ↑ ↓ or J / K: previous and next image · Home / End: first and last
                    </caption>
                    <thead>
                      <tr>
                        <SortHeader k="name" label="Image" />
                        <SortHeader k="score" label="Score" />
                        <SortHeader k="verdict" label="Verdict" />
                        {models.size > 1 || stale > 0 ? <th>Model</th> : null}
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((it) => {
                        const v = verdictOf(it);
                        return (
                          <tr key={it.id} className={it.id === st.selectedId ? 'selected' : ''} data-verdict={v} data-id={it.id}>
                            <td className="name-cell">
                              <button type="button" className="link row-button" onClick={() => st.select(it.id)} aria-pressed={it.id === st.selectedId}>
                                {it.status === 'error' ? <span className="mini placeholder" aria-hidden="true" /> : <img src={it.url} alt="" className="mini" />}
                                {it.name}
                              </button>
                              {it.status === 'error' && <div className="error-text small row-error">{it.error}</div>}
                            </td>
                            <td className="num" data-testid="row-score" data-raw={it.score ?? ''} title={it.score !== undefined ? `raw DifferNet score ${formatRawScore(it.score)}` : undefined}>
                              {it.status === 'running' ? '…' : displayOf(it) !== undefined ? formatDisplayScore(displayOf(it)!) : it.score !== undefined ? `raw ${formatRawScore(it.score)}` : '—'}
                            </td>
                            <td>
                              <span className={`verdict ${v.toLowerCase()}`} title={it.error}>
                                {v}
                              </span>
                            </td>
                            {models.size > 1 || stale > 0 ? (
                              <td className="small" data-testid="row-model">
                                {it.judgedBy ? `${it.judgedBy.name} ${versionLabel(it.judgedBy.version, it.judgedBy.calibration?.revision)}` : ''}
                              </td>
                            ) : null}
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
                {selected && (
                  <div className="detail card" data-testid="inspect-detail">
                    <div className="row spread wrap">
                      <h2 className="ellipsis">{selected.name}</h2>
                      <span className={`verdict big ${verdictOf(selected).toLowerCase()}`} data-testid="detail-verdict" title={selected.score !== undefined ? `raw DifferNet score ${formatRawScore(selected.score)}` : undefined}>
                        {verdictOf(selected)} {displayOf(selected) !== undefined && `· ${formatDisplayScore(displayOf(selected)!)}`}
                      </span>
                    </div>
                    <HeatmapCanvas
                      ref={canvas}
                      image={selected.blob}
                      map={selected.map}
                      mapWidth={selected.mapWidth}
                      mapHeight={selected.mapHeight}
                      scale={selected.judgedBy?.calibration ? { low: selected.judgedBy.calibration.mapLow, high: selected.judgedBy.calibration.mapHigh } : null}
                      outline={st.outline}
                      palette={palette}
                      opacity={st.opacity}
                      sideBySide={st.sideBySide}
                      label={`${selected.name} with defect heatmap`}
                    />
                    <div className="row wrap">
                      <label>
                        Heatmap opacity{' '}
                        <input type="range" min={0} max={1} step={0.05} value={st.opacity} onChange={(e) => st.set({ opacity: Number(e.target.value) })} data-testid="opacity" />
                      </label>
                      <label>
                        <input type="checkbox" checked={st.sideBySide} onChange={(e) => st.set({ sideBySide: e.target.checked })} /> side by side
                      </label>
                      <label title="Traces the region above every pixel of the held-out good images">
                        <input type="checkbox" checked={st.outline} onChange={(e) => st.set({ outline: e.target.checked })} data-testid="outline" /> outline beyond good
                      </label>
                      <button
                        type="button"
                        onClick={async () => {
                          // The same picture as the zip's: verdict, score and legend burned in, at this view's opacity and outline.
                          try {
                            const png = await overlayPng(overlayInput(selected), palette, st.opacity, st.outline);
                            downloadBlob(png, `${safeFileName(selected.name.replace(/\.[^.]+$/, ''))}-${verdictOf(selected)}.png`);
                          } catch (e) {
                            reportError(e, 'The overlay could not be saved');
                          }
                        }}
                        data-testid="export-png"
                        disabled={selected.status !== 'done'}
                        title={selected.status === 'error' ? 'This file could not be read: there is no overlay to save' : undefined}
                      >
                        Save overlay PNG
                      </button>
                    </div>
                    {/* The scale of the model that scored this image, not of the one active now. */}
                    {selected.judgedBy?.calibration && palette && (
                      <div className="row wrap">
                        <Legend scale={{ low: selected.judgedBy.calibration.mapLow, high: selected.judgedBy.calibration.mapHigh }} palette={palette} />
                        <span className="small muted" data-testid="legend-model">
                          scale of {selected.judgedBy.name} {versionLabel(selected.judgedBy.version, selected.judgedBy.calibration?.revision)}
                        </span>
                      </div>
                    )}
                    <MarkWrong
                      target={selected.status === 'done' && selected.judgedBy ? { modelId: selected.judgedBy.modelId, blob: selected.blob, name: selected.name, from: 'inspect', verdictAt: selected.scoredAt } : null}
                    />
                  </div>
                )}
              </div>
              <section aria-labelledby="gallery-title" data-testid="result-gallery">
                <h2 id="gallery-title">Results at a glance</h2>
                <ul className="gallery">
                  {rows.map((it) => {
                    const v = verdictOf(it);
                    return (
                      <li key={it.id}>
                        <button type="button" className={`gallery-item${it.id === st.selectedId ? ' selected' : ''}`} onClick={() => st.select(it.id)} title={it.name} aria-pressed={it.id === st.selectedId}>
                          <HeatThumb item={it} palette={palette} />
                          <span className="small ellipsis">{it.name.split('/').pop()}</span>
                          <span className={`verdict ${v.toLowerCase()}`}>
                            {v}
                            {displayOf(it) !== undefined ? ` ${formatDisplayScore(displayOf(it)!)}` : ''}
                          </span>
                        </button>
                      </li>
                    );
                  })}
                </ul>
              </section>
            </>
          )}
        </>
      )}
    </div>
  );
}
