import { useState } from 'react';
import type { BackboneId } from '../../../core';
import { defaultBackbone, evidenceSentence } from '../../lib/backbones';
import { BACKBONE_LABEL } from '../../lib/format';
import { reportError } from '../../stores/notices';
import { useEngine } from '../../stores/engine';
import { useModels } from '../../stores/models';

export { defaultBackbone };

export function NewModelForm({ onDone, onCancel, onBackbone }: { onDone: () => void; onCancel?: () => void; onBackbone?: (b: BackboneId) => void }) {
  const create = useModels((s) => s.create);
  const count = useModels((s) => s.records.length);
  const weights = useEngine((s) => s.weights);
  const [name, setName] = useState(`Model ${count + 1}`);
  // Follows the loaded weights until the user picks one.
  const [chosen, setChosen] = useState<BackboneId | null>(null);
  const backbone = chosen ?? defaultBackbone(weights);
  const setBackbone = (b: BackboneId) => {
    setChosen(b);
    onBackbone?.(b);
  };
  return (
    <form
      className="card"
      aria-label="New model"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await create(name, backbone);
          onDone();
        } catch (err) {
          reportError(err, 'The model could not be created');
        }
      }}
    >
      <div className="row wrap">
        <label className="field">
          <span>Name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={80} data-testid="new-model-name" />
        </label>
        <label className="field">
          <span>Backbone</span>
          <select value={backbone} onChange={(e) => setBackbone(e.target.value as BackboneId)} data-testid="new-model-backbone">
            <option value="googlenet">GoogLeNet (detects the most){weights.googlenet ? ' · weights loaded' : ' · weights not loaded'}</option>
            <option value="alexnet">AlexNet (the paper's){weights.alexnet ? ' · weights loaded' : ' · weights not loaded'}</option>
            <option value="squeezenet1_1">SqueezeNet 1.1 (smaller, faster){weights.squeezenet1_1 ? ' · weights loaded' : ' · weights not loaded'}</option>
          </select>
        </label>
      </div>
      <p className="small muted" data-testid="backbone-evidence">
        {evidenceSentence()}
      </p>
      {!weights[backbone] && (
        <p className="warning-text" data-testid="backbone-missing">
          {BACKBONE_LABEL[backbone]}'s weights are not loaded in this browser: load them on the weights panel before training this model.
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary">
          Create model
        </button>
        {onCancel && (
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
