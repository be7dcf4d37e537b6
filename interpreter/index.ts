/** The interpreter's public surface: pure functions over plain data. */
export * from './commands.js';
export * from './definition-schema.js';
export * from './duration.js';
export * from './engine.js';
export * from './expressions.js';
export * from './graph.js';
export * from './problems.js';
export * from './run-input.js';
export * from './run-state.js';
export * from './validate-definition.js';
