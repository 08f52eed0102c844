import { stringify } from 'yaml';

/** Stable YAML text of objects (multi-document when several), with a header comment. */
export function toYaml(objects: unknown[], header?: string): string {
  const body = objects
    .map((o) => stringify(o, { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false }))
    .join('---\n');
  return header
    ? `${header
        .split('\n')
        .map((l) => `# ${l}`.trimEnd())
        .join('\n')}\n${body}`
    : body;
}
