/**
 * The failure converter of encrypting workers and clients: error messages and stack traces
 * travel in a payload (`encodedAttributes`), so the codec encrypts them like any other data;
 * the plain `message` Temporal stores reads "Encoded failure".
 *
 * Loaded by path (`failureConverterPath`): the SDK bundles it into the workflow code, where
 * the workflow's own failures are converted, and requires it in the worker and clients. So it
 * must stay free of Node built-ins.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
