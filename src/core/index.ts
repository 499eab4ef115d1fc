/**
 * etagkit core: entity tags, HTTP dates, Cache-Control, byte ranges, RFC 9110 §13 precondition evaluation and
 * validator generators. Runtime-agnostic: nothing here imports `node:*`.
 */

export {
  type CacheDirectives,
  DELTA_SECONDS_MAX,
  deltaSeconds,
  directiveFieldNames,
  formatCacheControl,
  parseCacheControl,
} from './cache-control.ts';
export {
  type CacheStatusEntry,
  type CacheStatusForward,
  formatCacheStatus,
  parseCacheStatus,
} from './cache-status.ts';
export {
  type EntityTag,
  type EntityTagList,
  formatEntityTag,
  parseEntityTag,
  parseEntityTagList,
  strongCompare,
  weakCompare,
} from './entity-tag.ts';
export { formatHttpDate, parseHttpDate, toHttpSeconds } from './http-date.ts';
export {
  type ConditionalRequest,
  type CurrentRepresentation,
  evaluatePreconditions,
  getHeader,
  type HeaderSource,
  type PreconditionDecision,
  type PreconditionHeader,
} from './preconditions.ts';
export {
  type ByteRange,
  type ContentRange,
  formatContentRange,
  formatUnsatisfiedRange,
  MAX_RANGES,
  parseContentRange,
  parseRange,
  type RangeSpec,
  resolveRanges,
} from './range.ts';
export {
  type ContentTagger,
  createContentTagger,
  etagFromContent,
  etagFromStats,
  etagFromVersion,
  type FileStatsLike,
} from './validators.ts';
