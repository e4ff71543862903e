#!/usr/bin/env node
// The `lakeport` command in this repository (tests, `npm run lakeport`): registers tsx so the
// TypeScript sources run as they are. The installed package's command is dist/bin.mjs, built
// JavaScript (`npm run build`).
import { register } from "tsx/esm/api";

// Set before the SDK loads: its notice about Node.js versions is not the CLI user's concern.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
register();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
