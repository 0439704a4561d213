// Runs piston-client (unchanged) against SERVER for each case read as JSON from stdin; prints one JSON line of
// results. A case: {language, code?, config?} -> client.execute(language, code, config) or
// client.execute(config) when no code is given; {runtimes: true} -> client.runtimes().
import { piston } from "piston-client";

const server = process.argv[2];
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString());
const client = piston({ server });
const results = await Promise.all(
  cases.map(async (c) => {
    if (c.runtimes) return client.runtimes();
    return c.code === undefined ? client.execute(c.config) : client.execute(c.language, c.code, c.config ?? {});
  }),
);
process.stdout.write(JSON.stringify(results) + "\n");
