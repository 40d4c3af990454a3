import type { BackboneId, ModelSettings } from '../../core';
// The settings module is free of TF.js, so the UI bundle does not pull TF.js in for this.
import { DEFAULT_FEATURE_POWER, DEFAULT_WHITENING_SHRINKAGE, forBackbone, scalesThatFit, withRotations } from '../../core/model/settings';

interface Props {
  settings: ModelSettings;
  presets: { default: ModelSettings; paper: ModelSettings };
  /** The model's backbone: the balanced preset uses its own features (GoogLeNet: one 224 px pass). */
  backbone?: BackboneId;
  onChange: (s: ModelSettings) => void;
  disabled?: boolean;
}

/** For a live demo on a laptop: small images, a narrow flow and few passes train in about a minute. */
export function quickPreset(base: ModelSettings, backbone?: BackboneId): ModelSettings {
  // Parts held up to a webcam by hand turn, so the demo keeps the paper's rotations.
  const rotated = withRotations(base, true);
  return {
    ...rotated,
    // A backbone whose default is already small (GoogLeNet's one 224 px pass) keeps its features.
    // At 224 px AlexNet runs on two scales (its smallest image is 63 px), the others on three.
    features: base.features.size <= 224 ? structuredClone(base.features) : { size: 224, scales: backbone ? scalesThatFit(backbone, 224, 3) : 3 },
    flow: { ...base.flow, blocks: 4, hidden: 128 },
    train: { ...rotated.train, epochs: 3, subEpochs: 4 },
    // Two rotations keep live scoring near one frame per second on a laptop CPU.
    testTransforms: 2,
  };
}

export type PresetId = 'quick' | 'default' | 'paper';
const PRESET_LABEL: Record<PresetId, string> = { quick: 'Quick demo', default: 'Balanced', paper: 'Paper' };

/** Which preset the settings equal, if any. */
export function activePreset(s: ModelSettings, presets: { default: ModelSettings; paper: ModelSettings }, backbone?: BackboneId): PresetId | null {
  // Key order differs between a preset and settings read back from a model file.
  const stable = (v: unknown): string => (v && typeof v === 'object' ? (Array.isArray(v) ? `[${v.map(stable).join(',')}]` : `{${Object.keys(v).sort().map((k) => `${k}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`) : JSON.stringify(v));
  // The framing is a record of the training images, not a setting a preset chooses.
  const bare = ({ framing: _f, ...rest }: ModelSettings) => rest;
  const same = (a: ModelSettings, b: ModelSettings) => stable(bare(a)) === stable(bare(b));
  if (same(s, presets.default)) return 'default';
  if (same(s, quickPreset(presets.default, backbone))) return 'quick';
  if (same(s, presets.paper)) return 'paper';
  return null;
}

function CheckField({ label, checked, onToggle, testId, hint }: { label: string; checked: boolean; onToggle: (on: boolean) => void; testId: string; hint: string }) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} onChange={(e) => onToggle(e.target.checked)} data-testid={testId} />
      <span>{label}</span>
      <small className="muted">{hint}</small>
    </label>
  );
}

function NumberField({ label, value, min, max, step = 1, onChange, disabled, hint }: { label: string; value: number; min: number; max: number; step?: number; onChange: (v: number) => void; disabled?: boolean; hint?: string }) {
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="number"
        value={value}
        min={min}
        max={max}
        step={step}
        disabled={disabled}
        onChange={(e) => {
          const v = Number(e.target.value);
          if (Number.isFinite(v) && v >= min && v <= max) onChange(v);
        }}
      />
      {hint && <small className="muted">{hint}</small>}
    </label>
  );
}

export function SettingsForm({ settings: s, presets: given, backbone, onChange, disabled }: Props) {
  const presets = backbone ? { default: forBackbone(given.default, backbone), paper: given.paper } : given;
  const set = (patch: (c: ModelSettings) => void) => {
    const next = structuredClone(s);
    patch(next);
    onChange(next);
  };
  const active = activePreset(s, presets, backbone);
  const preset = (id: PresetId, label: string, value: () => ModelSettings, title?: string) => (
    <button type="button" className={`secondary preset${active === id ? ' active' : ''}`} aria-pressed={active === id} onClick={() => onChange(value())} title={title} data-testid={`preset-${id}`}>
      {label}
    </button>
  );
  return (
    <fieldset className="settings" disabled={disabled}>
      <legend>Settings</legend>
      <div className="row wrap">
        <span className="muted small">Presets:</span>
        {preset('quick', 'Quick demo', () => quickPreset(presets.default, backbone))}
        {preset('default', 'Balanced (default)', () => structuredClone(presets.default))}
        {preset('paper', 'Paper', () => structuredClone(presets.paper), "The paper's configuration: very slow without a GPU")}
        <span className="small" data-testid="active-preset">
          {active ? `In use: ${PRESET_LABEL[active]}` : 'In use: custom settings'}
        </span>
      </div>
      <CheckField
        label="Parts appear at any angle"
        checked={s.train.rotate}
        onToggle={(on) => onChange(withRotations(s, on))}
        testId="rotate-toggle"
        hint={
          s.train.rotate
            ? 'Trains on randomly rotated copies and averages rotated copies into each score, as the paper does.'
            : 'Parts are photographed in the same pose (a jig, a conveyor): no rotations, one copy per image. Faster, and more accurate when it holds.'
        }
      />
      <CheckField
        label="Whiten the features before the flow"
        checked={s.flow.whitening !== undefined}
        onToggle={(on) =>
          set((c) => {
            if (on) c.flow.whitening = DEFAULT_WHITENING_SHRINKAGE;
            else {
              // The power is part of the whitening layer: it goes with it.
              delete c.flow.whitening;
              delete c.flow.power;
            }
          })
        }
        testId="whiten-toggle"
        hint={
          s.flow.whitening !== undefined
            ? 'The flow starts from a Gaussian fitted to the good images\' features and refines it (GoogLeNet\'s default; it finds more defects on textured parts). Training takes longer for wide features.'
            : 'The paper\'s flow, on the features as they come.'
        }
      />
      {s.flow.whitening !== undefined && (
        <CheckField
          label="Take each feature's square root first"
          checked={s.flow.power !== undefined}
          onToggle={(on) =>
            set((c) => {
              if (on) c.flow.power = DEFAULT_FEATURE_POWER;
              else delete c.flow.power;
            })
          }
          testId="power-toggle"
          hint={
            s.flow.power !== undefined
              ? `Features to the power ${s.flow.power}. Pooled features are skewed, and their roots fit the Gaussian far better (GoogLeNet's default: it finds more defects on textured parts).`
              : 'The whitening takes the features as they come.'
          }
        />
      )}
      <div className="grid-fields">
        <label className="field">
          <span>Working size</span>
          <select value={s.features.size} onChange={(e) => set((c) => void (c.features.size = Number(e.target.value)))} aria-label="Working size">
            {[224, 320, 448].map((v) => (
              <option key={v} value={v}>
                {v} px{v === 448 ? ' (paper)' : ''}
              </option>
            ))}
          </select>
          <small className="muted">Images are resized to this square.</small>
        </label>
        <NumberField label="Scales" value={s.features.scales} min={1} max={3} onChange={(v) => set((c) => void (c.features.scales = v))} hint="Full, half and quarter size." />
        <NumberField label="Epochs" value={s.train.epochs} min={1} max={100} onChange={(v) => set((c) => void (c.train.epochs = v))} />
        <NumberField label="Sub-epochs" value={s.train.subEpochs} min={1} max={32} onChange={(v) => set((c) => void (c.train.subEpochs = v))} hint="Passes per epoch." />
        <NumberField label="Rotated copies per image" disabled={!s.train.rotate} value={s.train.copies} min={1} max={64} onChange={(v) => set((c) => void (c.train.copies = v))} hint="Computed once, reused by every pass." />
        <NumberField label="Transforms per step" disabled={!s.train.rotate} value={s.train.transforms} min={1} max={16} onChange={(v) => set((c) => void (c.train.transforms = v))} />
        <NumberField label="Flow blocks" value={s.flow.blocks} min={1} max={16} onChange={(v) => set((c) => void (c.flow.blocks = v))} />
        <NumberField label="Flow width" value={s.flow.hidden} min={16} max={4096} step={16} onChange={(v) => set((c) => void (c.flow.hidden = v))} hint="Hidden units; the paper uses 2048." />
        <NumberField label="Test transforms" disabled={!s.train.rotate} value={s.testTransforms} min={1} max={64} onChange={(v) => set((c) => void (c.testTransforms = v))} hint="Rotations averaged into each score." />
      </div>
    </fieldset>
  );
}
