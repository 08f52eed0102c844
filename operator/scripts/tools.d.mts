/** Installs (once) and unpacks helm and kubectl; returns their paths. */
export function ensureTools(): { helm: string; kubectl: string };
