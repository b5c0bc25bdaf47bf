// Failure messages and stack traces go into an encoded payload, so the codec encrypts them too.
// CommonJS on purpose: the SDK require()s this file by path in the worker and the client (also
// from the compiled CLI, which runs without a TypeScript loader) and bundles it into the workflows.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
