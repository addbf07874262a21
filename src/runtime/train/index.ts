export { losses, defaultLoss, type Loss, type LossName } from './losses.js';
export { makeTrainStep, makeOptimizer, type TrainStep, type OptimizerSettings } from './step.js';
