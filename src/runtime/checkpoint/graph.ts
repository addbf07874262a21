/**
 * The checked IR a checkpoint or a run was made from, for the runtime to build and run: read from
 * the record (unetc.json and run.json keep it, hashed), so the runtime needs the compiler's IR and
 * never its front end. Records written before they kept the IR hold only the spec's text; for
 * those the front end compiles it, and the runtime cannot import the front end (layers: cli ->
 * runtime -> compiler), so the CLI lends it once at start (`lendSpecCompiler`).
 */
import type { Graph } from '../../compiler/ir/types.js';

/** Compiles a spec's text: its graph, or the first problem (one line). */
export type SpecCompiler = (file: string, text: string) => Graph | string;

let lent: SpecCompiler | undefined;

/** The front end, for records that predate the IR (cli/main.ts lends it). */
export function lendSpecCompiler(compile: SpecCompiler): void {
  lent = compile;
}

/** What a checkpoint manifest or run.json says about its network. */
export interface NetworkRecord {
  readonly spec: { readonly name: string; readonly file?: string; readonly text: string };
  readonly graph?: Graph;
}

/** The record's IR, or why there is none (a reason to put after the record's file name). */
export function recordedGraph(record: NetworkRecord): Graph | string {
  if (record.graph !== undefined) return record.graph;
  if (lent === undefined)
    return 'it predates checkpoints that keep their network (IR), and no spec compiler was given to rebuild it from the spec text';
  const compiled = lent(record.spec.file ?? `${record.spec.name}.yaml`, record.spec.text);
  return typeof compiled === 'string' ? `the spec it records does not compile: ${compiled}` : compiled;
}
