import type { ScheduleName } from '../../compiler/spec/model.js';

/** Learning-rate schedules over a run of `total` steps (the spec's train.schedule). */
export type { ScheduleName };

/**
 * The learning rate at `step` (0-based) of `total`: constant; cosine annealing to 0
 * (Loshchilov & Hutter); or polynomial decay with power 0.9, as nnU-Net uses. With `warmup`
 * (a share of the run), the rate first rises linearly from base / warm-up steps to the
 * schedule's (Goyal et al. 2017): large early updates, while BatchNorm's statistics and Adam's
 * moments are still settling, are what makes a high rate diverge.
 */
export function learningRate(name: ScheduleName, base: number, step: number, total: number, warmup = 0): number {
  const warm = Math.floor(warmup * total);
  if (step < warm) return (scheduled(name, base, step, total) * (step + 1)) / warm;
  return scheduled(name, base, step, total);
}

function scheduled(name: ScheduleName, base: number, step: number, total: number): number {
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
