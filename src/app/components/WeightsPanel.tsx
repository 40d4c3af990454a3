import { useEffect, useState } from 'react';
import type { BackboneId } from '../../core';
import { missingBackbone, OFFICIAL_WEIGHTS } from '../lib/backbones';
import { BACKBONE_LABEL, formatBytes } from '../lib/format';
import { cancelWeights, loadWeightsFile, loadWeightsUrl } from '../services/weightsAndModels';
import { useEngine } from '../stores/engine';
import { DropZone } from './DropZone';
import { ProgressBar } from './ProgressBar';

const PHASE: Record<string, string> = { download: 'Downloading', read: 'Reading file', parse: 'Extracting backbone tensors' };

/** Backbone weights: status, drop a PyTorch or Caffe file, or fetch one by URL. */
export function WeightsPanel({ need }: { need?: BackboneId }) {
  const { weights, weightsJob, weightsError } = useEngine();
  // The download offers what is missing: the backbone asked for (by the new-model form) unless it is
  // loaded, else the best one not loaded. It follows the weights as they load until the user picks one.
  const [picked, setPicked] = useState<BackboneId | null>(null);
  const [typedUrl, setTypedUrl] = useState<string | null>(null);
  useEffect(() => {
    setPicked(null);
    setTypedUrl(null);
  }, [need]);
  const target = picked ?? (need && !weights[need] ? need : (missingBackbone(weights) ?? need ?? 'googlenet'));
  const url = typedUrl ?? OFFICIAL_WEIGHTS[target].url;
  return (
    <section className="card" aria-labelledby="weights-title" data-testid="weights-panel">
      <h3 id="weights-title">Backbone weights</h3>
      <ul className="plain">
        {(Object.keys(OFFICIAL_WEIGHTS) as BackboneId[]).map((id) => {
          const w = weights[id];
          return (
            <li key={id} data-testid={`weights-${id}`}>
              <strong>{BACKBONE_LABEL[id]}</strong>:{' '}
              {w ? (
                <span className="ok-text">
                  loaded from {w.source} · {(w.params / 1e6).toFixed(2)} M parameters · {w.hash}
                </span>
              ) : (
                <span className="muted">not loaded (official file: {OFFICIAL_WEIGHTS[id].file})</span>
              )}
            </li>
          );
        })}
      </ul>
      {weightsJob ? (
        <ProgressBar
          label={`${PHASE[weightsJob.phase] ?? 'Loading'} ${weightsJob.name}`}
          done={weightsJob.done}
          total={weightsJob.total}
          detail={weightsJob.phase === 'download' || weightsJob.phase === 'read' ? `${formatBytes(weightsJob.done)} of ${formatBytes(weightsJob.total)}` : undefined}
          onCancel={cancelWeights}
        />
      ) : (
        <>
          <DropZone
            label="Drop a weights file (.caffemodel or .pth)"
            hint="BVLC's bvlc_googlenet.caffemodel, torchvision's alexnet-owt-7be5be79.pth or squeezenet1_1-b8a52dc0.pth, or a checkpoint saved by the official DifferNet code (its flow is imported as a model). Only the backbone's tensors are kept, in this browser."
            accept=".caffemodel,.pth,.pt,.bin,.weights,application/octet-stream"
            folders={false}
            multiple={false}
            testId="weights-drop"
            onFiles={(files) => void loadWeightsFile(files[0].file)}
          />
          <form
            className="row wrap weights-download"
            onSubmit={(e) => {
              e.preventDefault();
              void loadWeightsUrl(url);
            }}
          >
            <label className="compact">
              <span>or download</span>
              <select
                value={target}
                aria-label="Backbone to download"
                data-testid="weights-url-backbone"
                onChange={(e) => {
                  setPicked(e.target.value as BackboneId);
                  setTypedUrl(null);
                }}
              >
                {(Object.keys(OFFICIAL_WEIGHTS) as BackboneId[]).map((id) => (
                  <option key={id} value={id}>
                    {BACKBONE_LABEL[id]}
                    {weights[id] ? ' (loaded)' : ''}
                  </option>
                ))}
              </select>
            </label>
            <label className="url-field">
              <span>from</span>
              <input type="url" value={url} onChange={(e) => setTypedUrl(e.target.value)} placeholder="https://…" aria-label="Weights URL" data-testid="weights-url" />
            </label>
            <button type="submit">Download</button>
          </form>
          <p className="small muted">
            Downloading needs internet access and a server that allows it; otherwise download the file on any machine and drop it here, or start the app with{' '}
            <code>DIFFERNET_GOOGLENET=/path/bvlc_googlenet.caffemodel npm start</code>.
          </p>
        </>
      )}
      {weightsError && (
        <p className="error-text" role="alert" data-testid="weights-error">
          {weightsError}
        </p>
      )}
    </section>
  );
}
