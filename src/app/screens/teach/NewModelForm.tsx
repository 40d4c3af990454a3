import { useState } from 'react';
import type { BackboneId } from '../../../core';
import { reportError } from '../../stores/notices';
import { useModels } from '../../stores/models';

export function NewModelForm({ onDone, onCancel }: { onDone: () => void; onCancel?: () => void }) {
  const create = useModels((s) => s.create);
  const count = useModels((s) => s.records.length);
  const [name, setName] = useState(`Model ${count + 1}`);
  const [backbone, setBackbone] = useState<BackboneId>('alexnet');
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
            <option value="alexnet">AlexNet (the paper's)</option>
            <option value="squeezenet1_1">SqueezeNet 1.1 (smaller, faster)</option>
          </select>
        </label>
      </div>
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
