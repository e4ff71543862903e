// How the CLI answers: JSON with --json, else readable text.

export interface GlobalOpts {
  endpoint?: string;
  json?: boolean;
}

export function print(opts: GlobalOpts, value: unknown, human: () => string) {
  process.stdout.write(opts.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}
