export * from './document.js';
export * from './model.js';
export { validateSchema, specSchema, label, describeValue } from './validate.js';
export { checkSemantics } from './semantic.js';
