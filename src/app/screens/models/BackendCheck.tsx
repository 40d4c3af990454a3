import { useState } from 'react';
import type { BackboneId, BackendName } from '../../../core';
import type { BackendComparison } from '../../../worker/protocol';
import { engine } from '../../engine';
import { useEngine } from '../../stores/engine';
import { useModels } from '../../stores/models';
import { reportError } from '../../stores/notices';

/**
 * Runs a tiny image through two backends and compares features and scores: a quick way to trust a GPU
 * backend before relying on it (and the end-to-end test of WebGPU).
 */
export function BackendCheck() {
  const weights = useEngine((s) => s.weights);
  const record = useModels((s) => s.records.find((r) => r.id === s.activeId) ?? null);
  const ensureLoaded = useModels((s) => s.ensureLoaded);
  const info = useEngine((s) => s.backend);
  // Without a WebGPU adapter a WebGPU run can only fail: offer it only where there is one.
  const hasGpu = !!info?.webgpu;
  const softwareGpu = !!info?.webgpu?.software;
  const [a, setA] = useState<BackendName>(hasGpu ? 'webgpu' : 'webgl');
  const [b, setB] = useState<BackendName>('wasm');
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<BackendComparison | null>(null);
  const backbone = (Object.keys(weights)[0] as BackboneId | undefined) ?? null;
  const useModel = !!record && record.version > 0 && !!weights[record.backbone];
  const run = async () => {
    if (!backbone) return;
    setRunning(true);
    setResult(null);
    try {
      const modelId = useModel && (await ensureLoaded(record.id)) ? record.id : null;
      setResult(await engine().call('compareBackends', { modelId, backbone: modelId ? record!.backbone : backbone, size: 64, backends: [a, b] }));
    } catch (e) {
      reportError(e, 'Backend check failed');
    } finally {
      setRunning(false);
    }
  };
  const opts: BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];
  const label = (o: BackendName) => (o === 'webgpu' && !hasGpu ? 'webgpu (no adapter)' : o === 'webgpu' && softwareGpu ? 'webgpu (software: slow)' : o);
  return (
    <section className="card" aria-labelledby="bc-title" data-testid="backend-check">
      <h3 id="bc-title">Backend check</h3>
      <p className="small muted">Computes the features and score of a small 64 px test pattern on two backends and compares them. Software GPU adapters are slow: this can take a minute.</p>
      <div className="row wrap">
        <select value={a} onChange={(e) => setA(e.target.value as BackendName)} aria-label="First backend">
          {opts.map((o) => (
            <option key={o} value={o} disabled={o === 'webgpu' && !hasGpu}>
              {label(o)}
            </option>
          ))}
        </select>
        <span>vs</span>
        <select value={b} onChange={(e) => setB(e.target.value as BackendName)} aria-label="Second backend">
          {opts.map((o) => (
            <option key={o} value={o} disabled={o === 'webgpu' && !hasGpu}>
              {label(o)}
            </option>
          ))}
        </select>
        <button type="button" onClick={run} disabled={running || !backbone || a === b} data-testid="backend-check-run">
          {running ? 'Comparing…' : 'Compare'}
        </button>
        {!backbone && <span className="muted small">Load weights first.</span>}
      </div>
      {result && (
        <div data-testid="backend-check-result" data-feature-rel-diff={result.featureRelDiff} data-score-rel-diff={result.scoreRelDiff} data-map-rel-diff={result.mapRelDiff}>
          <table className="results">
            <thead>
              <tr>
                <th>Backend</th>
                <th>Adapter</th>
                <th>Score</th>
                <th>Features and score</th>
                <th>Defect map</th>
              </tr>
            </thead>
            <tbody>
              {result.rows.map((r) => (
                <tr key={r.backend}>
                  <td>{r.backend}</td>
                  <td>{r.adapter}</td>
                  <td className="num" data-testid={`score-${r.backend}`}>
                    {r.score.toPrecision(6)}
                  </td>
                  <td className="num">{(r.ms / 1000).toFixed(2)} s</td>
                  <td className="num">{(r.mapMs / 1000).toFixed(2)} s</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            Largest feature difference: <strong>{(result.featureRelDiff * 100).toExponential(2)} %</strong> of the largest feature; score difference{' '}
            <strong>{(result.scoreRelDiff * 100).toExponential(2)} %</strong> ({result.rows[0]?.features.length} features); defect map difference{' '}
            <strong>{(result.mapRelDiff * 100).toExponential(2)} %</strong> of its peak.{' '}
            {result.featureRelDiff < 1e-3 && result.scoreRelDiff < 1e-2 && result.mapRelDiff < 1e-2 ? <span className="ok-text">They agree.</span> : <span className="error-text">They differ more than float32 rounding explains.</span>}
          </p>
        </div>
      )}
    </section>
  );
}
