export { errorType } from './lib/error-type.ts';
export { type Instrumentation, type InstrumentOptions, instrument } from './lib/instrument.ts';
export { METRIC_NAMES } from './lib/switchyard-metrics.ts';
