// A lost answer (S3Admin.lose): the request is handled as usual, but what the proxy writes back
// never reaches the client. Every byte of the answer goes through the connection's socket, so
// the socket's writes are swallowed; once the answer is complete the connection is closed
// ("drop", as a reset on the way back does) or left open and silent ("hang").
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

type WriteCallback = (err?: Error | null) => void;

export function loseAnswer(req: IncomingMessage, res: ServerResponse, mode: "drop" | "hang") {
  const socket: Socket = req.socket;
  const swallow = (_chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
    const done = (typeof encoding === "function" ? encoding : cb) as WriteCallback | undefined;
    if (done) process.nextTick(done);
    return true;
  };
  socket.write = swallow as Socket["write"];
  // Kept alive: the server does not end the connection after the answer ("hang" stays silent);
  // its client, waiting for the answer, sends nothing else on it.
  res.on("finish", () => {
    if (mode === "drop") socket.destroy();
  });
}
