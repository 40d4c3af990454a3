import { useState } from 'react';
import { DropZone } from '../../components/DropZone';
import { WeightsPanel } from '../../components/WeightsPanel';
import { formatRawScore, promisedRate, type Calibration } from '../../../core/inspection';
import { BACKBONE_LABEL, formatBytes, formatDateTime } from '../../lib/format';
import type { ModelRecord } from '../../persistence/models';
import { importModelFile } from '../../services/weightsAndModels';
import { useModels } from '../../stores/models';
import { reportError } from '../../stores/notices';
import { BackendCheck } from './BackendCheck';

function ModelRow({ r, active }: { r: ModelRecord; active: boolean }) {
  const { setActive, update, remove, exportModel } = useModels();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(r.name);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  return (
    <tr className={active ? 'selected' : ''} data-testid="model-row" data-model-name={r.name}>
      <td>
        {editing ? (
          <form
            className="row"
            onSubmit={async (e) => {
              e.preventDefault();
              const n = name.trim();
              if (n) await update(r.id, { name: n }).catch((err) => reportError(err, 'Not renamed'));
              setEditing(false);
            }}
          >
            <input value={name} onChange={(e) => setName(e.target.value)} aria-label="New name" autoFocus maxLength={80} data-testid="rename-input" />
            <button type="submit">Save</button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <strong>{r.name}</strong>
        )}
        <div className="muted small">
          {r.origin ? `from ${r.origin} · ` : ''}updated {formatDateTime(r.updatedAt)}
        </div>
      </td>
      <td data-label="Backbone">{BACKBONE_LABEL[r.backbone]}</td>
      <td data-label="Version">{r.version === 0 ? <span className="muted">untrained</span> : `v${r.version}`}</td>
      <td className="num" data-label="Images" title={r.origin ? 'Images it was trained on; an imported model does not bring them along' : undefined}>
        {r.training ? r.training.images : '—'}
      </td>
      <td className="num" data-label="Threshold">{r.calibration ? `raw ${formatRawScore(r.calibration.threshold)}${thresholdNote(r.calibration)}` : '—'}</td>
      <td className="num" data-label="Size">{r.fileBytes ? formatBytes(r.fileBytes) : '—'}</td>
      <td data-label="Actions">
        <div className="row wrap">
          <button type="button" onClick={() => setActive(r.id)} disabled={active} aria-label={active ? `In use: ${r.name}` : `Use ${r.name}`}>
            {active ? 'In use' : 'Use'}
          </button>
          <button type="button" className="secondary" onClick={() => setEditing(true)} aria-label={`Rename ${r.name}`}>
            Rename
          </button>
          <button
            type="button"
            className="secondary"
            disabled={r.version === 0 || busy}
            aria-label={`Export ${r.name}`}
            onClick={async () => {
              setBusy(true);
              await exportModel(r.id).catch((e) => reportError(e, 'Export failed'));
              setBusy(false);
            }}
          >
            Export
          </button>
          {confirming ? (
            <>
              <button type="button" className="danger" onClick={() => void remove(r.id).catch((e) => reportError(e, 'Not deleted'))}>
                Delete for good
              </button>
              <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" className="secondary" onClick={() => setConfirming(true)} aria-label={`Delete ${r.name}`}>
              Delete
            </button>
          )}
        </div>
      </td>
    </tr>
  );
}

function DuplicateQuestion() {
  const dup = useModels((s) => s.duplicate);
  if (!dup) return null;
  return (
    <div className="card warning-box row wrap" role="alertdialog" aria-labelledby="dup-text" data-testid="import-duplicate">
      <span id="dup-text">
        <strong>{dup.fileName}</strong> is the model “{dup.existing}”, which is already here (same training run and weights).
      </span>
      <button type="button" onClick={() => void dup.finish(true)} data-testid="import-copy">
        Import as a copy
      </button>
      <button type="button" className="secondary" onClick={() => void dup.finish(false)} data-testid="import-cancel" autoFocus>
        Cancel
      </button>
    </div>
  );
}

export function ModelsScreen() {
  const { records, activeId } = useModels();
  return (
    <div className="screen" data-testid="models-screen">
      <h1>Models</h1>
      <section className="card">
        {records.length === 0 ? (
          <p className="muted">No models yet. Teach one, or import a model file below.</p>
        ) : (
          <div className="table-wrap">
            <table className="results stack" data-testid="models-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Backbone</th>
                  <th>Version</th>
                  <th>Images</th>
                  <th>Threshold</th>
                  <th title="Stored in this browser, without the backbone weights">Size</th>
                  <th>Actions</th>
                </tr>
              </thead>
              <tbody>
                {records.map((r) => (
                  <ModelRow key={r.id} r={r} active={r.id === activeId} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p className="small muted">Models, their settings and training images are kept in this browser (IndexedDB) and survive reloads. Exported files include the backbone weights.</p>
      </section>
      <DropZone
        label="Import a model file (.differnet)"
        hint="A file exported from this app on any machine."
        accept=".differnet,application/zip"
        folders={false}
        multiple
        onFiles={async (files) => {
          for (const f of files) await importModelFile(f.file);
        }}
        testId="model-import"
      />
      <DuplicateQuestion />
      <WeightsPanel />
      <BackendCheck />
    </div>
  );
}

/** What the threshold promises: the rate its held-out images support, which may be above the one asked for. */
function thresholdNote(c: Calibration): string {
  if (c.method.kind !== 'false-alarm-rate') return '';
  const promised = promisedRate(c);
  const pct = (r: number) => `${+(r * 100).toFixed(2)} %`;
  if (promised === null) return ` (${pct(c.method.rate)} of training images; no promise)`;
  return c.guarantee?.supported ? ` (≤ ${pct(promised)} false alarms)` : ` (≤ ${pct(promised)} false alarms: ${c.good.n} held out, ${pct(c.method.rate)} asked)`;
}
