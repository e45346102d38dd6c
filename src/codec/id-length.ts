/**
 * Why an id cannot be kept (longer than `maxBytes` in UTF-8, LEARN_MAX_ID_BYTES), or undefined: ids become Redis
 * keys, history entries and checkpoint lines, so their length bounds memory as much as their count does.
 */
export function idTooLong(field: string, id: string, maxBytes: number): string | undefined {
  const bytes = Buffer.byteLength(id, 'utf8');
  return bytes > maxBytes ? `${field} of ${bytes} bytes is longer than LEARN_MAX_ID_BYTES (${maxBytes})` : undefined;
}
