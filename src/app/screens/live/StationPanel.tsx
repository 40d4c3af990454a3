import { useEffect, useState } from 'react';
import { DEFAULT_DEBOUNCE, failRate } from '../../../core/inspection';
import { downloadBlob } from '../../lib/download';
import { clearStationDefects, countStationDefects } from '../../persistence/stationDefects';
import { useEngine } from '../../stores/engine';
import { useLive } from '../../stores/live';
import { useModels } from '../../stores/models';
import { reportError, useNotices } from '../../stores/notices';
import { stationZip, unlockSound } from './station';

/** Pass/fail counts, the k-of-n rule, the DEFECT sound and the defective frames saved in this browser. */
export function StationPanel() {
  const counts = useLive((s) => s.counts);
  const prefs = useLive((s) => s.prefs);
  const saved = useLive((s) => s.saved);
  const { setPrefs, resetCounts, set } = useLive.getState();
  const palette = useEngine((s) => s.palette);
  const [busy, setBusy] = useState(false);
  const rate = failRate(counts);
  const { k, n } = prefs.debounce;

  useEffect(() => {
    countStationDefects().then(
      (c) => set({ saved: c }),
      () => set({ saved: null }),
    );
  }, [set]);

  const exportZip = async () => {
    setBusy(true);
    try {
      const records = useModels.getState().records;
      const { blob, count } = await stationZip((name) => records.find((r) => r.name === name)?.calibration ?? null, palette);
      if (count === 0) useNotices.getState().push('info', 'No defective frames are saved yet.');
      else downloadBlob(blob, `station-defects-${new Date().toISOString().slice(0, 19).replace(/[:]/g, '-')}.zip`);
    } catch (e) {
      reportError(e, 'The saved defects could not be exported');
    } finally {
      setBusy(false);
    }
  };

  const clear = async () => {
    if (!confirm(`Delete the ${saved ?? ''} defective frames saved in this browser?`)) return;
    try {
      await clearStationDefects();
      set({ saved: 0 });
    } catch (e) {
      reportError(e, 'The saved defects could not be deleted');
    }
  };

  return (
    <section className="card" aria-labelledby="station-title" data-testid="station">
      <h2 id="station-title">Station</h2>
      <div className="station-counts" data-testid="station-counts" data-pass={counts.pass} data-fail={counts.fail}>
        <div className="count ok">
          <span className="count-n">{counts.pass.toLocaleString()}</span>
          <span className="count-label">passed</span>
        </div>
        <div className="count defect">
          <span className="count-n">{counts.fail.toLocaleString()}</span>
          <span className="count-label">failed</span>
        </div>
        <div className="count">
          <span className="count-n" data-testid="station-rate">{rate === null ? '—' : `${(rate * 100).toFixed(1)} %`}</span>
          <span className="count-label">fail rate</span>
        </div>
      </div>
      <p className="small muted">Counted per scored frame, after the {k}-of-{n} rule.</p>
      <div className="row wrap">
        <button type="button" className="secondary" onClick={resetCounts} disabled={counts.pass + counts.fail === 0} data-testid="station-reset">
          Reset counts
        </button>
        <label title={`DEFECT when ${k} of the last ${n} frames are defects, so one noisy frame flips nothing (default ${DEFAULT_DEBOUNCE.k} of ${DEFAULT_DEBOUNCE.n})`}>
          DEFECT when{' '}
          <input type="number" className="tiny" min={1} max={n} value={k} aria-label="Defective frames needed (k)" onChange={(e) => setPrefs({ debounce: { k: Number(e.target.value), n } })} /> of the last{' '}
          <input type="number" className="tiny" min={k} max={50} value={n} aria-label="Frames considered (n)" onChange={(e) => setPrefs({ debounce: { k, n: Number(e.target.value) } })} /> frames
        </label>
      </div>
      <div className="row wrap">
        <label>
          <input
            type="checkbox"
            checked={prefs.sound}
            onChange={(e) => {
              if (e.target.checked) unlockSound();
              setPrefs({ sound: e.target.checked });
            }}
            data-testid="station-sound"
          />{' '}
          beep on DEFECT
        </label>
        <label>
          <input type="checkbox" checked={prefs.autoSave} onChange={(e) => setPrefs({ autoSave: e.target.checked })} data-testid="station-autosave" /> save defective frames
        </label>
      </div>
      <div className="row wrap">
        <span className="small" data-testid="station-saved" data-saved={saved ?? ''}>
          {saved === null ? 'Saved defects: —' : `${saved} defective frame${saved === 1 ? '' : 's'} saved in this browser`}
        </span>
        <button type="button" className="secondary" onClick={() => void exportZip()} disabled={busy || !saved} data-testid="station-export">
          {busy ? 'Exporting…' : 'Export zip'}
        </button>
        <button type="button" className="secondary" onClick={() => void clear()} disabled={!saved}>
          Delete saved
        </button>
      </div>
    </section>
  );
}
