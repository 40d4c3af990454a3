import { useEffect, useState } from 'react';
import type { BackboneId } from '../../core';
import { BACKBONE_LABEL, formatBytes } from '../lib/format';
import { useEngine } from '../stores/engine';
import { DropZone } from './DropZone';
import { ProgressBar } from './ProgressBar';

const OFFICIAL: Record<BackboneId, { file: string; url: string }> = {
  alexnet: { file: 'alexnet-owt-7be5be79.pth', url: 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth' },
  squeezenet1_1: { file: 'squeezenet1_1-b8a52dc0.pth', url: 'https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth' },
  // The Caffe model zoo's address, as BVLC/caffe's models/bvlc_googlenet/readme.md gives it.
  googlenet: { file: 'bvlc_googlenet.caffemodel', url: 'http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel' },
};

const PHASE: Record<string, string> = { download: 'Downloading', read: 'Reading file', parse: 'Extracting backbone tensors' };

/** Backbone weights: status, drop a PyTorch file, or fetch one by URL. */
export function WeightsPanel({ need }: { need?: BackboneId }) {
  const { weights, weightsJob, weightsError, loadWeightsFile, loadWeightsUrl, cancelWeights } = useEngine();
  // The URL field follows the backbone chosen (by the new-model form, or the select beside it).
  const firstMissing = (Object.keys(OFFICIAL) as BackboneId[]).find((id) => !weights[id]) ?? 'alexnet';
  const [target, setTarget] = useState<BackboneId>(need ?? firstMissing);
  const [url, setUrl] = useState(OFFICIAL[target].url);
  useEffect(() => {
    if (!need) return;
    setTarget(need);
    setUrl(OFFICIAL[need].url);
  }, [need]);
  return (
    <section className="card" aria-labelledby="weights-title" data-testid="weights-panel">
      <h3 id="weights-title">Backbone weights</h3>
      <ul className="plain">
        {(Object.keys(OFFICIAL) as BackboneId[]).map((id) => {
          const w = weights[id];
          return (
            <li key={id} data-testid={`weights-${id}`}>
              <strong>{BACKBONE_LABEL[id]}</strong>:{' '}
              {w ? (
                <span className="ok-text">
                  loaded from {w.source} · {(w.params / 1e6).toFixed(2)} M parameters · {w.hash}
                </span>
              ) : (
                <span className="muted">not loaded (official file: {OFFICIAL[id].file})</span>
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
            label="Drop a PyTorch weights file (.pth)"
            hint="torchvision's alexnet-owt-7be5be79.pth or squeezenet1_1-b8a52dc0.pth, or a checkpoint saved by the official DifferNet code (its flow is imported as a model). Only the backbone's tensors are kept, in this browser."
            accept=".pth,.pt,.bin,.weights,application/octet-stream"
            folders={false}
            multiple={false}
            testId="weights-drop"
            onFiles={(files) => void loadWeightsFile(files[0].file)}
          />
          <form
            className="row wrap"
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
                  const b = e.target.value as BackboneId;
                  setTarget(b);
                  setUrl(OFFICIAL[b].url);
                }}
              >
                {(Object.keys(OFFICIAL) as BackboneId[]).map((id) => (
                  <option key={id} value={id}>
                    {BACKBONE_LABEL[id]}
                  </option>
                ))}
              </select>
            </label>
            <label className="url-field">
              <span>from</span>
              <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://…" aria-label="Weights URL" data-testid="weights-url" />
            </label>
            <button type="submit">Download</button>
          </form>
          <p className="small muted">
            Downloading needs internet access and a server that allows it; otherwise download the file on any machine and drop it here, or start the app with{' '}
            <code>DIFFERNET_ALEXNET=/path/alexnet-owt-7be5be79.pth npm start</code>.
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
