// Sentences about a model's versions, for the versions list.
import { mayHaveTrainedOn } from '../../core/inspection';

interface Image {
  id: string;
  addedAt: number;
  origin?: 'correction';
}

interface Previous {
  trainedOn: string[] | null;
  heldOut: string[] | null;
  createdAt: string;
}

/** What a training changes, against the version it replaces (`previous`, when it is saved). */
export function trainingChange(images: readonly Image[], previous: Previous | undefined, previousVersion: number): string {
  const n = `${images.length} good image${images.length === 1 ? '' : 's'}`;
  if (previousVersion === 0) return `first training on ${n}`;
  if (!previous) return `retrained on ${n}`;
  const seen = { trainedOn: [...(previous.trainedOn ?? []), ...(previous.heldOut ?? [])], trainedAt: Date.parse(previous.createdAt) };
  const fresh = images.filter((img) => !mayHaveTrainedOn(previous.trainedOn ? seen : { trainedOn: null, trainedAt: seen.trainedAt }, img));
  const marked = fresh.filter((img) => img.origin === 'correction').length;
  if (fresh.length === 0) return `retrained on the same ${n} as v${previousVersion}`;
  return `retrained on ${n}: ${fresh.length} new since v${previousVersion}${marked ? `, ${marked} of them marked good after a false alarm` : ''}`;
}
