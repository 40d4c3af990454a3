import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BACKBONE_IDS, DEFAULT_FALSE_ALARM_RATE, describeCalibration, DifferNet, featureDim, flowParamCount, framingFromSizes, saveModel, type BackboneId } from '../../src/core/internal';
import { imageSize, readImageBytes } from '../io/decode';
import { initNodeBackend } from '../../src/core/node/backend';
import { nodeFlowThreads } from '../../src/core/node/threads';
import { readMvtecFolder } from '../io/mvtec';
import { intFlag, settingsFromFlags, SETTINGS_FLAGS, UsageError } from '../options';
import { describeDataset, trainCalibrated } from '../pipeline';
import { defaultThreads, EnginePool } from '../pool/pool';
import { formatSeconds } from '../progressBar';
import { loadBackboneFile } from '../weights';

export const TRAIN_HELP = `differnet train --data DIR --weights FILE --out MODEL [--backbone alexnet|squeezenet1_1|googlenet]
    [--preset default|paper] [--rotate | --no-rotate] [--size 448] [--scales 3] [--taps A,B,...] [--blocks 8] [--width 192]
    [--clamp 3] [--train-transforms 1] [--copies 1] [--test-transforms 1] [--epochs 4] [--sub-epochs 8]
    [--batch 24] [--lr 2e-4] [--seed 0] [--jitter 0] [--false-alarms 5] [--threads N] [--json]
  FILE: torchvision's AlexNet or SqueezeNet 1.1 .pth, or BVLC's bvlc_googlenet.caffemodel. GoogLeNet's default
  features are inception_3b, 4a, 4c and 4e pooled at 224 px (--size 224 --scales 1); the others' are the last
  layer at 448, 224 and 112 px. --taps names other layers (an unknown name lists the ones there are).
  Trains on DIR/train/good (MVTec AD layout) and writes one model file (backbone included). A fifth of the
  good images is held out of training; the threshold flags --false-alarms percent of good parts like them.
  The default expects parts in a fixed pose (no rotations); --rotate adds the paper's random rotations
  (a bank of 32 random angles per training image, 4 drawn afresh each step; 16 per score) for parts that appear at any angle; --preset paper has them.`;

export async function trainCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...SETTINGS_FLAGS, data: { type: 'string' }, weights: { type: 'string' }, backbone: { type: 'string' }, out: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' }, name: { type: 'string' }, 'false-alarms': { type: 'string' } },
  });
  if (!values.data || !values.weights || !values.out) throw new UsageError('train needs --data, --weights and --out');
  const backboneFlag = values.backbone as BackboneId | undefined;
  if (backboneFlag && !BACKBONE_IDS.includes(backboneFlag)) throw new UsageError(`--backbone must be one of ${BACKBONE_IDS.join(', ')}, got "${backboneFlag}"`);
  settingsFromFlags(values, backboneFlag);
  const falseAlarmRate = values['false-alarms'] === undefined ? DEFAULT_FALSE_ALARM_RATE : Number(values['false-alarms']) / 100;
  if (!(falseAlarmRate > 0 && falseAlarmRate < 1)) throw new UsageError(`--false-alarms takes a percentage between 0 and 100, got "${values['false-alarms']}"`);
  const quiet = values.json === true && !process.stderr.isTTY;
  const t0 = Date.now();
  const ds = readMvtecFolder(values.data, { requireTrain: true, requireTest: false });
  const log = (s: string) => !values.json && console.log(s);
  log(`data: ${describeDataset(ds)}`);

  const plan = await initNodeBackend({ flowThreads: nodeFlowThreads() });
  const backend = plan.backend;
  const backbone = loadBackboneFile(values.weights, backboneFlag);
  const settings = settingsFromFlags(values, backbone.id);
  featureDim(backbone, settings.features);
  const threads = intFlag(values, 'threads', defaultThreads());
  const pool = await EnginePool.create({ kind: 'backbone', weightsPath: values.weights, backbone: backbone.id, features: settings.features }, plan, threads);
  try {
    const dim = featureDim(backbone, settings.features);
    log(`backbone ${backbone.id} (${backbone.weightsHash}), ${dim} features, flow ${settings.flow.blocks} blocks x width ${settings.flow.hidden} (${(flowParamCount({ inputDim: dim, ...settings.flow }) / 1e6).toFixed(2)}M parameters), ${backend} x ${pool.size} threads`);
    const trained = await trainCalibrated(pool, backbone, ds.train, settings, { plan, quiet, falseAlarmRate });
    // The app's Live screen crops camera frames to the training images' framing: record it, as the app's own training does.
    // From the files' headers: the pixels were decoded once already, in the workers.
    const framing = framingFromSizes(ds.train.map((file) => imageSize(readImageBytes(file), file)));
    const model = new DifferNet(trained.engine, trained.backbone, trained.flow, { ...trained.settings, framing }, trained.calibration, trained.training);
    const training = model.training!;
    const calibration = model.calibration!;
    const bytes = await saveModel(model, { name: values.name ?? `${backbone.id} on ${values.data}`, includeBackbone: true });
    writeFileSync(values.out, bytes);
    const report = {
      command: 'train',
      model: values.out,
      modelBytes: bytes.length,
      backbone: backbone.id,
      backend,
      threads: pool.size,
      images: ds.train.length,
      trainedOn: training.images,
      heldOut: training.heldOut,
      settings,
      flowParameters: flowParamCount(model.flow.config),
      featureSeconds: training.featureSeconds,
      featureCopiesPerSecond: (training.images * Math.max(settings.train.copies, settings.train.transforms)) / training.featureSeconds,
      flowSeconds: training.flowSeconds,
      calibrationSeconds: training.calibrationSeconds,
      totalSeconds: (Date.now() - t0) / 1000,
      losses: training.losses,
      threshold: calibration.threshold,
      calibration: { method: calibration.method, source: calibration.source, heldOut: calibration.good.n, guarantee: calibration.guarantee, text: describeCalibration(calibration) },
    };
    if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
    else {
      log(`trained on ${training.images} images, ${training.heldOut} held out, in ${formatSeconds(report.totalSeconds)} (features ${formatSeconds(training.featureSeconds)}, flow ${formatSeconds(training.flowSeconds)}, calibration ${formatSeconds(training.calibrationSeconds ?? 0)}); loss ${report.losses[0].toFixed(3)} -> ${report.losses.at(-1)!.toFixed(3)}`);
      log(`threshold: ${describeCalibration(calibration)}`);
      log(`wrote ${values.out} (${(bytes.length / 1e6).toFixed(1)} MB)`);
    }
    model.dispose();
  } finally {
    await pool.close();
    backbone.dispose();
  }
}
