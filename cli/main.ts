import { EVAL_HELP, evalCommand } from './commands/evaluate';
import { FEATURES_HELP, featuresCommand } from './commands/features';
import { INSPECT_HELP, inspectCommand } from './commands/inspect';
import { TRAIN_HELP, trainCommand } from './commands/train';
import { UsageError } from './options';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; help: string }> = {
  train: { run: trainCommand, help: TRAIN_HELP },
  eval: { run: evalCommand, help: EVAL_HELP },
  inspect: { run: inspectCommand, help: INSPECT_HELP },
  features: { run: featuresCommand, help: FEATURES_HELP },
};

const USAGE = `DifferNet Inspector command line (npm run differnet -- <command> ...)

${Object.values(COMMANDS)
  .map((c) => c.help)
  .join('\n\n')}

differnet bench   (npm run bench) trains and evaluates on ../shared/datasets/mtd and writes BENCHMARKS.md
    [--cache DIR] [--study 64x8,128x8,512x8,2048x8,192x48] [--seeds 3] [--pixel-limit 40] [--threads N] [--out FILE]
    [--maps [--map-images 5]]: only seconds per defect map against seconds per score, per backbone
Environment: DIFFERNET_THREADS (worker threads, default: cores), DIFFERNET_BACKEND (default wasm).`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  if (name === 'bench') {
    const { benchCommand } = await import('./bench');
    await benchCommand(rest);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.help);
    return 0;
  }
  await cmd.run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = process.exitCode || code;
  },
  (e: Error) => {
    const usage = e instanceof UsageError || e.name === 'TypeError' && /Unknown option|Option '/.test(e.message);
    console.error(`error: ${e.message}`);
    if (usage) console.error('(run with --help for usage)');
    process.exitCode = usage ? 2 : 1;
  },
);
