import { useEffect, useMemo, useState } from 'react';
import { describeCalibration, formatRawScore, mayHaveTrainedOn, versionLabel } from '../../../core/inspection';
import { LearnOffer } from '../../components/MarkWrong';
import { ProgressBar } from '../../components/ProgressBar';
import type { PickedFile } from '../../lib/files';
import { formatDateTime } from '../../lib/format';
import { listImages } from '../../persistence/images';
import { useEvaluate } from '../../stores/evaluate';
import { useLearn } from '../../stores/learn';
import { useModels } from '../../stores/models';
import { reportError, useNotices } from '../../stores/notices';
import { CompareChart } from './CompareChart';

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(1)} %`);

const when = formatDateTime;

/** A model's versions: what each changed, its threshold; compare two on the filed labelled set; roll back. */
export function VersionsScreen() {
  const records = useModels((s) => s.records);
  const activeId = useModels((s) => s.activeId);
  const record = records.find((r) => r.id === activeId) ?? null;
  const st = useLearn();
  const versions = record ? (st.versions[record.id] ?? []) : [];
  const defects = record ? (st.defects[record.id] ?? []) : [];
  const waiting = record ? (st.pending[record.id]?.length ?? 0) : 0;
  const [pair, setPair] = useState<[number, number] | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);

  const refresh = st.refresh;
  const recordId = record?.id;
  const current = record?.version;
  // Read again when the model or its current version changes (a training, a roll-back).
  useEffect(() => {
    if (recordId) void refresh(recordId);
  }, [recordId, current, refresh]);

  // Default pair: the current version against the one before it (or the newest other one).
  const [a, b] = useMemo<[number, number] | [null, null]>(() => {
    if (pair && versions.some((v) => v.version === pair[0]) && versions.some((v) => v.version === pair[1])) return pair;
    if (!record || versions.length < 2) return [null, null];
    const others = versions.filter((v) => v.version !== record.version);
    const before = others.filter((v) => v.version < record.version).pop() ?? others[others.length - 1];
    return [Math.min(before.version, record.version), Math.max(before.version, record.version)];
  }, [pair, versions, record]);

  const comparison = st.comparison && record && st.comparison.modelId === record.id ? st.comparison : null;

  const useInEvaluate = async () => {
    if (!record) return;
    try {
      const current = versions.find((v) => v.version === record.version);
      const good = (await listImages(record.id)).filter((img) => !current || !mayHaveTrainedOn({ trainedOn: current.trainedOn, trainedAt: Date.parse(current.createdAt) }, img));
      const file = (blob: Blob, name: string, folder: string): PickedFile => ({ file: new File([blob], name.split('/').pop() || name, { type: blob.type }), path: `${folder}/${name}` });
      const ev = useEvaluate.getState();
      ev.addTagged(good.map((g) => file(g.blob, g.name, 'good')), 0);
      ev.addTagged(defects.map((d) => file(d.blob, d.name, 'filed defects')), 1);
      useNotices.getState().push('info', `Evaluate has ${good.length} good image${good.length === 1 ? '' : 's'} v${record.version} never trained on and ${defects.length} filed defect${defects.length === 1 ? '' : 's'}; drop a labelled folder there to add more.`);
      location.hash = '#/evaluate';
    } catch (e) {
      reportError(e, 'The labelled set could not be opened in Evaluate');
    }
  };

  if (!record) {
    return (
      <div className="screen" data-testid="versions-screen">
        <h1>Versions</h1>
        <p className="card">Teach and train a model first (Teach screen), or import one (Models screen).</p>
      </div>
    );
  }

  const job = st.job?.modelId === record.id ? st.job : null;
  return (
    <div className="screen" data-testid="versions-screen">
      <h1>Versions</h1>
      <p className="muted">
        Every training keeps a new version of the model chosen at the top; older ones stay saved in this browser. Compare two on the parts people corrected, and make any of them current again:
        nothing is deleted.
      </p>
      <section className="card" aria-labelledby="versions-title">
        <h2 id="versions-title">Versions of “{record.name}”</h2>
        {versions.length === 0 ? (
          <p className="muted" data-testid="versions-none">
            {record.version === 0 ? 'Not trained yet: train it on the Teach screen.' : `v${record.version} was trained before versions were kept; the next training keeps it as a version.`}
          </p>
        ) : (
          <div className="table-wrap">
            <table className="results stack" data-testid="versions-table">
              <caption className="visually-hidden">Saved versions, oldest first</caption>
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Trained</th>
                  <th>What changed</th>
                  <th>Threshold</th>
                  <th className="num">Good images</th>
                  <th>
                    <span className="visually-hidden">Current or roll back</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => {
                  const current = v.version === record.version;
                  const t = v.training;
                  return (
                    <tr key={v.version} data-testid="version-row" data-version={v.version} data-current={current || undefined}>
                      <td data-label="Version">
                        <strong data-testid="version-label">{versionLabel(v.version, v.calibration?.revision)}</strong>
                      </td>
                      <td data-label="Trained">{when(v.createdAt)}</td>
                      <td data-label="What changed" data-testid="version-change">
                        {v.change}
                      </td>
                      <td data-label="Threshold" data-testid="version-threshold" data-raw={v.calibration?.threshold ?? ''}>
                        {v.calibration ? (
                          <div>
                            0.5 on the 0-1 scale = raw {formatRawScore(v.calibration.threshold)}
                            <div className="small muted">{describeCalibration(v.calibration)}</div>
                          </div>
                        ) : (
                          'none'
                        )}
                      </td>
                      <td data-label="Good images" className="num">
                        <div>
                          {t ? `${t.images} trained · ${t.heldOut ?? 0} held out` : '—'}
                          {v.calibratedWith.length > 0 && <div className="small muted">+{v.calibratedWith.length} marked good in the threshold</div>}
                        </div>
                      </td>
                      <td>
                        {current ? (
                          <span className="verdict ok">current</span>
                        ) : confirming === v.version ? (
                          <span className="row wrap" role="group" aria-label={`Confirm making v${v.version} current`}>
                            <button
                              type="button"
                              className="primary"
                              onClick={() => {
                                setConfirming(null);
                                void st.rollBack(record.id, v.version);
                              }}
                              data-testid="rollback-confirm"
                            >
                              Make v{v.version} current
                            </button>
                            <button type="button" className="secondary" onClick={() => setConfirming(null)} autoFocus>
                              Cancel
                            </button>
                          </span>
                        ) : (
                          <button type="button" className="secondary" onClick={() => setConfirming(v.version)} disabled={!!job} data-testid="rollback" title={`Inspect with v${v.version} again; v${record.version} stays saved`}>
                            {v.version < record.version ? 'Roll back to' : 'Use'} v{v.version}
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {record.version > 0 && (
        <section className={waiting > 0 ? 'card' : undefined} aria-label="Parts marked good">
          {waiting > 0 && <h2>Parts marked good</h2>}
          <LearnOffer modelId={record.id} dismissable={false} />
        </section>
      )}

      <section className="card" aria-labelledby="labelled-title" data-testid="labelled-set">
        <h2 id="labelled-title">Labelled set</h2>
        <p className="small">
          <strong data-testid="filed-count">{defects.length}</strong> defect{defects.length === 1 ? '' : 's'} filed with “This is a defect”. The good side of a comparison is every good image of
          the model that neither compared version trained on (held out by both, or added later, such as parts marked good): a flow scores its own training images lower than new parts.{' '}
          <em>Use in Evaluate</em> opens the filed defects with the good images the current version never trained on; a labelled folder dropped there joins them.
        </p>
        {defects.length > 0 && (
          <ul className="gallery filed" aria-label="Filed defects">
            {defects.map((d) => (
              <li key={d.id} className="filed-item">
                <FiledThumb blob={d.blob} name={d.name} />
                <span className="small ellipsis" title={d.name}>
                  {d.name.split('/').pop()}
                </span>
                <button type="button" className="secondary small" onClick={() => void st.removeDefect(record.id, d.id)} aria-label={`Remove ${d.name} from the filed defects`}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <button type="button" onClick={() => void useInEvaluate()} disabled={defects.length === 0} data-testid="use-in-evaluate">
          Use in Evaluate
        </button>
      </section>

      <section className="card" aria-labelledby="compare-title" data-testid="compare">
        <h2 id="compare-title">Compare two versions</h2>
        {versions.length < 2 ? (
          <p className="muted small">A second version appears after the next training (Retrain).</p>
        ) : (
          <>
            <div className="row wrap align-end">
              {(['First', 'Second'] as const).map((label, i) => (
                <label className="field" key={label}>
                  <span>{label}</span>
                  <select
                    value={(i === 0 ? a : b) ?? ''}
                    onChange={(e) => {
                      const v = Number(e.target.value);
                      setPair(i === 0 ? [v, b ?? v] : [a ?? v, v]);
                    }}
                    data-testid={`compare-${i === 0 ? 'a' : 'b'}`}
                  >
                    {versions.map((v) => (
                      <option key={v.version} value={v.version}>
                        v{v.version}
                        {v.version === record.version ? ' (current)' : ''}
                      </option>
                    ))}
                  </select>
                </label>
              ))}
              <button type="button" className="primary" disabled={a === null || b === null || a === b || !!job} onClick={() => a !== null && b !== null && void st.compare(record.id, a, b)} data-testid="compare-run">
                Compare
              </button>
            </div>
            {job?.kind === 'compare' && <ProgressBar label="Scoring the labelled set with both versions" done={job.done} total={job.total} onCancel={st.cancel} />}
            {comparison && (
              <div data-testid="compare-result">
                <p className="small" data-testid="compare-set">
                  On {comparison.good} good image{comparison.good === 1 ? '' : 's'} neither version trained on and {comparison.defects} filed defect{comparison.defects === 1 ? '' : 's'}, each version at its own
                  threshold{comparison.good + comparison.defects < 20 ? ' (a small set: one image moves these numbers a lot)' : ''}.
                </p>
                <div className="table-wrap">
                  <table className="results compare-table" data-testid="compare-table">
                    <caption className="visually-hidden">The two versions side by side</caption>
                    <thead>
                      <tr>
                        <th scope="col">
                          <span className="visually-hidden">Measure</span>
                        </th>
                        {comparison.results.map((r) => (
                          <th scope="col" key={r.version} className="num">
                            v{r.version}
                          </th>
                        ))}
                      </tr>
                    </thead>
                    <tbody>
                      <tr>
                        <th scope="row">Image AUROC</th>
                        {comparison.results.map((r) => (
                          <td key={r.version} className="num" data-testid="compare-auroc">
                            {r.report.imageAuroc === null ? '—' : r.report.imageAuroc.toFixed(3)}
                          </td>
                        ))}
                      </tr>
                      <tr>
                        <th scope="row">False alarms (good parts flagged)</th>
                        {comparison.results.map((r) => (
                          <td key={r.version} className="num" data-testid="compare-false-alarms">
                            {r.report.atThreshold ? `${r.report.atThreshold.fp} of ${r.report.atThreshold.fp + r.report.atThreshold.tn} · ${pct(r.report.atThreshold.falseAlarmRate)}` : '—'}
                          </td>
                        ))}
                      </tr>
                      <tr>
                        <th scope="row">Recall (defects found)</th>
                        {comparison.results.map((r) => (
                          <td key={r.version} className="num" data-testid="compare-recall">
                            {r.report.atThreshold ? `${r.report.atThreshold.tp} of ${r.report.atThreshold.tp + r.report.atThreshold.fn} · ${pct(r.report.atThreshold.recall)}` : '—'}
                          </td>
                        ))}
                      </tr>
                      <tr>
                        <th scope="row">Raw threshold</th>
                        {comparison.results.map((r) => (
                          <td key={r.version} className="num">
                            {r.threshold === null ? 'none' : formatRawScore(r.threshold)}
                          </td>
                        ))}
                      </tr>
                    </tbody>
                  </table>
                </div>
                <CompareChart results={comparison.results} />
                {comparison.errors.length > 0 && (
                  <ul className="error-text small">
                    {comparison.errors.map((e) => (
                      <li key={e}>{e}</li>
                    ))}
                  </ul>
                )}
              </div>
            )}
          </>
        )}
      </section>
    </div>
  );
}

function FiledThumb({ blob, name }: { blob: Blob; name: string }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    const u = URL.createObjectURL(blob);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [blob]);
  return url ? <img src={url} alt={name} className="thumb" /> : null;
}
