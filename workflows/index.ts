/** The workflow bundle's entry point: the one generic interpreter workflow. */
export { interpret, stateQuery, type InterpretArgs } from './interpret.js';
