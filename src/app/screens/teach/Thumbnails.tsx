import type { TeachImage } from '../../stores/teach';

const SHOWN = 240;

export function Thumbnails({ images, onRemove }: { images: TeachImage[]; onRemove?: (id: string) => void }) {
  return (
    <ul className="thumbs" aria-label="Good images" data-testid="thumbnails">
      {images.slice(0, SHOWN).map((img) => (
        <li key={img.id}>
          <img src={img.url} alt={img.name} loading="lazy" decoding="async" />
          {onRemove && (
            <button type="button" className="thumb-remove" onClick={() => onRemove(img.id)} aria-label={`Remove ${img.name}`}>
              ×
            </button>
          )}
        </li>
      ))}
      {images.length > SHOWN && <li className="muted small">+ {images.length - SHOWN} more</li>}
    </ul>
  );
}
