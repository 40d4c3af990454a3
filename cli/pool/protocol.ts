import type { BackboneId, CopySpec, FeatureConfig, MapOrder } from '../../src/core/internal';

/** What a worker thread runs on: the backbone weights, or a whole model file (for defect maps). */
export type WorkerInit =
  | { kind: 'backbone'; weightsPath: string; backbone?: BackboneId; features: FeatureConfig }
  | { kind: 'model'; modelBytes: Uint8Array };

export type Job =
  | { id: number; kind: 'copies'; imagePath: string; specs: CopySpec[] }
  | { id: number; kind: 'map'; imagePath: string; transforms: number; mapOrder?: MapOrder };

/**
 * `width` x `height` is the image file's size (after EXIF orientation), and a map covers it pixel for pixel.
 * `downscaledTo` is present when the file was bigger than the engine takes and was reduced to that size
 * for scoring (see decodeForInspection). A failed job's `error` names the file and the reason.
 */
export type JobResult =
  | { id: number; ok: true; kind: 'copies'; rows: Float32Array; width: number; height: number; downscaledTo?: [number, number] }
  | { id: number; ok: true; kind: 'map'; score: number; map: Float32Array; width: number; height: number; downscaledTo?: [number, number] }
  | { id: number; ok: false; error: string };

export type WorkerMessage = { ready: true; backend: string } | { ready: false; error: string } | JobResult;
