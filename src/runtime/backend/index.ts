export {
  selectEngine,
  parseEngineName,
  engineNames,
  engineOrder,
  EngineError,
  type Engine,
  type EngineName,
  type Tf,
} from './engine.js';
