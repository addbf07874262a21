import type { Span } from '../diagnostics/index.js';
import type { Op } from '../ir/index.js';

type Distribute<T> = T extends Op ? Omit<T, 'name' | 'inputs' | 'span' | 'channels'> : never;
/** What an op is, without where it sits in the graph. */
export type OpBody = Distribute<Op>;

/** Appends ops in data-flow order; names must be unique (the lowering guarantees it). */
export class GraphBuilder {
  readonly ops: Op[] = [];
  private readonly byName = new Map<string, Op>();

  add(name: string, inputs: readonly string[], channels: number, span: Span | undefined, body: OpBody): string {
    const op = { ...body, name, inputs, channels, span } as Op;
    this.ops.push(op);
    this.byName.set(name, op);
    return name;
  }

  /** A builder that continues from ops already built (e.g. after pruning). */
  static from(ops: readonly Op[]): GraphBuilder {
    const b = new GraphBuilder();
    for (const op of ops) {
      b.ops.push(op);
      b.byName.set(op.name, op);
    }
    return b;
  }

  channels(name: string): number {
    return this.byName.get(name)?.channels ?? 0;
  }
}
