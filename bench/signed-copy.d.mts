// Types of bench/signed-copy.mjs (plain JavaScript: the ceiling loop's worker threads load it
// without a TypeScript loader).
export interface SignedCopier {
  copy(
    bucket: string,
    key: string,
    copySource: string,
    headers?: Record<string, string>,
  ): Promise<void>;
  destroy(): void;
}

export function createSignedCopier(opts: {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region?: string;
}): SignedCopier;
