export type { ErrorCategory, VouchErrorOptions } from './errors.ts';
export { denied, invalid, isVouchError, messageOf, unavailable, VouchError } from './errors.ts';
