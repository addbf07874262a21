import { Command, Option } from 'commander';
import { engineNames, parseEngineName } from '../runtime/backend/index.js';
import { runCheck } from './check.js';
import { runCompile } from './compile.js';
import { lendSpecCompiler } from '../runtime/checkpoint/index.js';
import { compileSpec, formatOneLine, type Graph } from '../compiler/index.js';
import { Exit, reportError } from './errors.js';
import { runTrain } from './train.js';
import type { TrainOptions } from './train-flags.js';
import { PREDICT_HELP, runPredict } from './predict.js';
import { EVAL_HELP, runEval } from './eval.js';
import { runViz, VIZ_HELP } from './viz.js';
import { runFmt } from './fmt.js';
import { runInspect } from './inspect.js';
import { processIO, UsageError, type CliIO, type DiagnosticFormat } from './io.js';
import { VERSION } from './version.js';

export { Exit };

interface Common {
  json?: boolean;
  short?: boolean;
}

const diagFormat = (o: Common): DiagnosticFormat => (o.json ? 'json' : o.short ? 'short' : 'frame');

/** A stored spec's text compiled by the front end: its graph, or its first problem. */
function compileStoredSpec(file: string, text: string): Graph | string {
  const compiled = compileSpec({ name: file, body: text });
  const first = compiled.diagnostics.find((d) => d.severity === 'error');
  return compiled.graph ?? (first ? formatOneLine(first) : 'it does not compile');
}

/**
 * Runs the CLI and returns the exit code; never calls process.exit, so tests can call it.
 * Usage errors exit 2, bad specs 1; only a bug in unetc prints a stack trace (with UNETC_DEBUG=1).
 */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  // Checkpoints and runs from before they kept their IR are rebuilt from their spec text.
  lendSpecCompiler(compileStoredSpec);
  let code: number = Exit.ok;
  const program = new Command('unetc')
    .description('Compiler and toolchain for declarative U-Net segmentation specs (YAML or the unetc DSL).')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showSuggestionAfterError(true)
    // A backend name that does not exist is a usage error (exit 2), whichever command takes it.
    .hook('preAction', (_program, action) => {
      const backend = action.opts().backend as unknown;
      if (typeof backend === 'string' && parseEngineName(backend) === undefined)
        throw new UsageError(`--backend: unknown engine '${backend}': use ${engineNames.join(', ')}`);
    });

  const withDiagnostics = (cmd: Command) =>
    cmd
      .option('--json', 'machine-readable output (diagnostics included)')
      .option('--short', 'one line per diagnostic: file:line:col: error[CODE] message');

  withDiagnostics(
    program
      .command('check')
      .description('check specs: syntax, schema, meaning and shapes')
      .argument('<spec...>', 'spec files (.yaml, .yml or .unet)'),
  )
    .option('-q, --quiet', 'print nothing when a spec is fine')
    .action((files: string[], o: Common & { quiet?: boolean }) => {
      code = runCheck(io, files, { format: diagFormat(o), quiet: o.quiet === true });
    });

  withDiagnostics(
    program
      .command('inspect')
      .description('per-layer shapes, parameters and MACs; totals and training memory')
      .argument('<spec>', 'spec file'),
  )
    .option('--input <HxW>', "input height x width (default: the spec's size, or 256x256 when it fits)")
    .option('--batch <N>', "batch size for the memory estimate (default: the spec's train.batch, else 1)")
    .option('--summary', 'totals only, no per-layer table')
    .action((file: string, o: Common & { input?: string; batch?: string; summary?: boolean }) => {
      code = runInspect(io, file, {
        input: o.input,
        batch: o.batch,
        format: diagFormat(o),
        summary: o.summary === true,
      });
    });

  withDiagnostics(
    program
      .command('fmt')
      .description('print a spec in canonical form, or convert it between YAML and the DSL')
      .argument('<spec>', 'spec file'),
  )
    .addOption(new Option('--to <format>', 'output format').choices(['yaml', 'dsl']))
    .option('-w, --write', 'write the result (to the same file, or beside it with the new extension)')
    .option('-o, --output <file>', 'write the result to this file')
    .option('--check', 'exit 1 when the file is not in canonical form')
    .option(
      '--overwrite',
      'replace an existing file of another name that unetc did not write (-w on the spec itself needs no flag)',
    )
    .action(
      (
        file: string,
        o: Common & { to?: string; write?: boolean; output?: string; check?: boolean; overwrite?: boolean },
      ) => {
        code = runFmt(io, file, {
          to: o.to,
          write: o.write === true,
          check: o.check === true,
          output: o.output,
          format: diagFormat(o),
          overwrite: o.overwrite === true,
        });
      },
    );

  program
    .command('compile')
    .description(
      'compile a spec to ONNX (verified against the tfjs graph in onnxruntime), to tfjs model files, or to a PyTorch module (verified in PyTorch)',
    )
    .argument('<spec>', 'spec file')
    .option('-t, --target <target>', 'onnx, tfjs or pytorch')
    .option('-o, --output <path>', 'the .onnx file, or the folder for tfjs model files or the PyTorch module')
    .option(
      '--weights <checkpoint>',
      'a checkpoint folder (model.json, weights.bin, unetc.json) trained from this spec',
    )
    .option('--seed <N>', 'seed of the initial weights when no checkpoint is given', '0')
    .option('--no-verify', 'skip the numerical check of the export')
    .option('--opset <N>', 'ONNX opset, 13 to 17', '13')
    .option('--fold-bn', 'fold BatchNorms into the convs right before them')
    .option(
      '--static-size <HxW>',
      'ONNX: one fixed input size (batch 1), crops as constants: for runtimes without dynamic shapes (OpenCV DNN)',
    )
    .option(
      '--fp16-weights',
      'store the weights as float16: half the size (they are rounded first, and verified as rounded)',
    )
    .option('--backend <name>', 'tfjs engine: auto, gpu, node, wasm or cpu (default: $UNETC_BACKEND, else auto)')
    .option('--short', 'one line per diagnostic')
    .option('--overwrite', `replace an existing output that unetc did not write`)
    .action(
      async (
        file: string,
        o: {
          target?: string;
          output?: string;
          weights?: string;
          seed?: string;
          verify: boolean;
          opset?: string;
          foldBn?: boolean;
          fp16Weights?: boolean;
          backend?: string;
          short?: boolean;
          overwrite?: boolean;
          staticSize?: string;
        },
      ) => {
        code = await runCompile(io, file, {
          ...o,
          foldBn: o.foldBn === true,
          overwrite: o.overwrite === true,
          format: o.short ? 'short' : 'frame',
        });
      },
    );

  program
    .command('train')
    .description(
      'train a spec on a data folder (images/ and masks/: PNG, or NIfTI volumes) or on the built-in synthetic nuclei (volumes for 3D specs)',
    )
    .argument('[spec]', 'spec file (optional with --resume)')
    .option(
      '--data <dir>',
      'data folder with images/ and masks/ (PNG, or NIfTI .nii/.nii.gz) (default: built-in synthetic nuclei)',
    )
    .option('--slice-axis <axis>', 'NIfTI data and a 2D spec: train on slices across x, y or z (default z: axial)')
    .option('--val <dir>', 'validation folder (default: a split of --data, train.val_split)')
    .option('--out <dir>', 'run folder (default: runs/<name>-<time>)')
    .option('--resume <run>', 'continue an interrupted run exactly')
    .option(
      '--init <model>',
      'start from trained weights: a run folder, a checkpoint, or a shipped model (nuclei); without a spec, its own spec',
    )
    .option('--time <duration>', 'train for this long, e.g. 5m, 90s, 1h30m (overrides train.time and train.epochs)')
    .option('--epochs <N>', 'override train.epochs (and train.time)')
    .option('--steps-per-epoch <N>', 'override train.steps_per_epoch')
    .option('--batch <N>', 'override train.batch')
    .option('--lr <X>', 'override train.learning_rate')
    .option('--max-steps <N>', 'stop after N steps in all')
    .option('--seed <N>', 'override train.seed')
    .option(
      '--val-split <F>',
      'override train.val_split: the share of --data held out for validation (0: none, the last weights are the model)',
    )
    .option('--dry-run', 'check the spec and data and run one step and a validation; keep nothing')
    .option(
      '--overwrite',
      "let --out be a folder holding files of the same names as the run's that unetc did not write, and replace them",
    )
    .option('--no-export', 'do not export model.onnx at the end')
    .option('--no-memory-check', 'start even when a step is estimated not to fit in memory')
    .option('--backend <name>', 'tfjs engine: auto, gpu, node, wasm or cpu (default: $UNETC_BACKEND, else auto)')
    .option('--engine <name>', 'tfjs (default) or torch: train in PyTorch (python3 with torch), on CPUs or GPUs')
    .option('--devices <kind>', 'torch engine: cpu (default) or cuda')
    .option(
      '--nproc <N>',
      'torch engine: processes to train with (DistributedDataParallel; gloo on CPUs, nccl on GPUs)',
    )
    .option('--amp <dtype>', 'torch engine on GPUs: autocast in bf16 or fp16')
    .option('--channels-last', 'torch engine on GPUs: channels-last memory format')
    .option(
      '--prepare-only',
      'torch engine: write the run folder and RUN/torch (module, data, settings, runner) and print how to launch it (torchrun, SLURM) instead of training here',
    )
    .addOption(
      new Option('--sync-log', 'torch engine: each rank logs a hash of its weights after every step').hideHelp(),
    )
    .action(async (file: string | undefined, o: Omit<TrainOptions, 'tty' | 'dryRun'> & { dryRun?: boolean }) => {
      code = await runTrain(io, file, { ...o, dryRun: o.dryRun === true, tty: io.tty === true });
    });

  withDiagnostics(
    program
      .command('viz')
      .description('architecture diagram as SVG: the U view, or a layered graph')
      .argument('<spec>', 'spec file'),
  )
    .option('-o, --output <file>', 'the .svg file (- for stdout)')
    .option('--input <HxW>', "input size (default: the spec's, or 256x256 when it fits)")
    .option('--graph', 'the layered graph view, also for a template network')
    .option('--overwrite', 'replace an existing file that unetc did not write')
    .addHelpText('after', VIZ_HELP)
    .action((file: string, o: Common & { output?: string; input?: string; graph?: boolean; overwrite?: boolean }) => {
      code = runViz(io, file, {
        output: o.output,
        input: o.input,
        graph: o.graph === true,
        format: diagFormat(o),
        overwrite: o.overwrite === true,
      });
    });

  const inference = (c: Command) =>
    c
      .option('--tile <N>', 'largest tile side in px (default 512)')
      .option('--overlap <F>', 'tile overlap, a fraction from 0 to below 1 (default 0.25)')
      .option('--threshold <T>', "foreground threshold (one-class models; default: the model's)")
      .option(
        '--min-size <N>',
        'drop instances below N px (default 0; 20 for models trained with output.instances: boundary)',
      )
      .option('--connectivity <4|8>', 'instance connectivity (default 8)')
      .option('--tta', 'test-time augmentation: average over the 8 flips and quarter turns (2D images)')
      .option(
        '--split <seed,waist>',
        "boundary models: seed threshold and waist depth (px) of the split instead of the model's (e.g. 0.6,0.75)",
      )
      .option('--backend <name>', 'tfjs engine, for tfjs checkpoints')
      .option('--overwrite', 'replace files in --out that unetc did not write (it never does without this)');
  inference(
    program
      .command('predict')
      .description('write masks (and instance label maps) for images, with a run folder, a checkpoint or an .onnx file')
      .argument('<model>', 'run folder, tfjs checkpoint folder or .onnx file')
      .option('--input <path>', 'a PNG or NIfTI file, or a folder of them (or its images/)')
      .option('--out <dir>', 'where the masks go')
      .option('--slice-axis <axis>', 'NIfTI input and a 2D model: segment slices across x, y or z (default z)')
      .option('--instances', 'also write 16-bit instance label maps and instances.csv')
      .option('--probabilities', 'also write probability maps'),
  )
    .addHelpText('after', PREDICT_HELP)
    .action(async (m: string, o: Parameters<typeof runPredict>[2]) => {
      code = await runPredict(io, m, o);
    });
  inference(
    program
      .command('eval')
      .description('Dice, IoU and instance F1 of a model on a data folder (images/, masks/, optional labels/)')
      .argument('<model>', 'run folder, tfjs checkpoint folder or .onnx file')
      .option('--data <dir>', 'data folder (PNG images/ and masks/, or NIfTI volumes)')
      .option('--slice-axis <axis>', 'NIfTI data and a 2D model: segment slices across x, y or z (default z)')
      .option('--out <file.csv>', 'write per-image scores as CSV')
      .option('--tune-split', 'boundary models: score a grid of split settings on DIR and name the best'),
  )
    .addHelpText('after', EVAL_HELP)
    .action(async (m: string, o: Parameters<typeof runEval>[2]) => {
      code = await runEval(io, m, o);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    return reportError(io, e);
  }
}
