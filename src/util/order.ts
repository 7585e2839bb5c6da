/**
 * Strings in code-unit order, as Go's sort.Strings orders them (byte order for UTF-8 agrees
 * outside the surrogates). Not localeCompare: ordering by a locale is not what Docker prints,
 * and its first call builds ICU's collator, some 3 MB that stay resident (#12).
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
