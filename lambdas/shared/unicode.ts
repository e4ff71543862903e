// S3 keys and Go's regexp take UTF-8 only; a JavaScript string may hold a lone surrogate,
// which has no UTF-8 form (the SDK would write U+FFFD instead, another key).

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `s` holds a surrogate code unit without its pair. */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}
