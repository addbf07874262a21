/** Learning-rate schedules over a run of `total` steps (the spec's train.schedule). */
export type ScheduleName = 'constant' | 'cosine' | 'poly';

/**
 * The learning rate at `step` (0-based) of `total`: constant; cosine annealing to 0
 * (Loshchilov & Hutter); or polynomial decay with power 0.9, as nnU-Net uses.
 */
export function learningRate(name: ScheduleName, base: number, step: number, total: number): number {
  const t = total <= 1 ? 0 : Math.min(1, Math.max(0, step / total));
  switch (name) {
    case 'constant':
      return base;
    case 'cosine':
      return base * 0.5 * (1 + Math.cos(Math.PI * t));
    case 'poly':
      return base * (1 - t) ** 0.9;
  }
}
