import { TrustError } from '../../errors.js';

/**
 * MQTT topic filter matching (MQTT 3.1.1 section 4.7): `+` matches one level, a trailing `#` matches the parent
 * and everything below, and wildcards at the first level never match topics that start with `$`.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  if (topic.startsWith('$') && (filterLevels[0] === '+' || filterLevels[0] === '#')) return false;
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i];
    if (level === '#') return true;
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}

const MAX_TOPIC_LENGTH = 65_535;

export function assertTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new TrustError('INVALID_ARGUMENT', 'topic must be a non-empty string');
  }
  if (/[+#\u0000]/.test(topic)) throw new TrustError('INVALID_ARGUMENT', 'topic must not contain wildcards or NUL');
}

export function assertTopicFilter(filter: unknown): asserts filter is string {
  if (typeof filter !== 'string' || filter.length === 0 || filter.length > MAX_TOPIC_LENGTH) {
    throw new TrustError('INVALID_ARGUMENT', 'topic filter must be a non-empty string');
  }
  const levels = filter.split('/');
  levels.forEach((level, index) => {
    const wildcardMisused =
      (level.includes('#') && (level !== '#' || index !== levels.length - 1)) ||
      (level.includes('+') && level !== '+') ||
      level.includes('\u0000');
    if (wildcardMisused) throw new TrustError('INVALID_ARGUMENT', 'malformed topic filter');
  });
}
