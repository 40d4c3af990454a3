import { useId, useRef, useState, type ReactNode } from 'react';
import { filesFromDrop, filesFromInput, sortByPath, type PickedFile } from '../lib/files';

interface Props {
  onFiles: (files: PickedFile[]) => void;
  /** Label of the zone, read by screen readers and shown as its heading. */
  label: string;
  hint?: ReactNode;
  accept?: string;
  folders?: boolean;
  multiple?: boolean;
  disabled?: boolean;
  testId?: string;
}

/** Drop files or whole folders, or pick them with the keyboard-accessible buttons. */
export function DropZone({ onFiles, label, hint, accept = 'image/*', folders = true, multiple = true, disabled, testId }: Props) {
  const [over, setOver] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const id = useId();
  const deliver = (files: PickedFile[]) => {
    if (files.length > 0) onFiles(sortByPath(files));
  };
  return (
    <div
      className={`dropzone${over ? ' over' : ''}${disabled ? ' disabled' : ''}`}
      data-testid={testId}
      aria-labelledby={`${id}-label`}
      role="group"
      onDragOver={(e) => {
        if (disabled) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={async (e) => {
        e.preventDefault();
        setOver(false);
        if (disabled) return;
        deliver(await filesFromDrop(e.dataTransfer));
      }}
    >
      <div id={`${id}-label`} className="dropzone-label">
        {label}
      </div>
      {hint && <div className="muted small">{hint}</div>}
      <div className="row">
        <button type="button" onClick={() => fileInput.current?.click()} disabled={disabled}>
          Choose file{multiple ? 's' : ''}…
        </button>
        {folders && (
          <button type="button" onClick={() => folderInput.current?.click()} disabled={disabled}>
            Choose folder…
          </button>
        )}
      </div>
      <input
        ref={fileInput}
        type="file"
        hidden
        accept={accept}
        multiple={multiple}
        data-testid={testId ? `${testId}-files` : undefined}
        onChange={(e) => {
          deliver(filesFromInput(e.currentTarget.files));
          e.currentTarget.value = '';
        }}
      />
      {folders && (
        <input
          ref={folderInput}
          type="file"
          hidden
          multiple
          data-testid={testId ? `${testId}-folder` : undefined}
          {...{ webkitdirectory: '', directory: '' }}
          onChange={(e) => {
            deliver(filesFromInput(e.currentTarget.files));
            e.currentTarget.value = '';
          }}
        />
      )}
    </div>
  );
}
