// README (Connecting lakeFS): a transaction whose second attempt finds the first still in
// progress (TransactionInProgressException, past the SDK's attempts) is sent again under the
// same client token for 7 s more, then fails.
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterEach, expect, it, vi } from "vitest";
import { sendTransaction } from "../../lambdas/shared/dynamodb/document-client";

afterEach(() => {
  vi.useRealTimers();
});

it("sends an in-progress transaction again under its token for 7 s, then throws", async () => {
  vi.useFakeTimers();
  const sent: { token: string; at: number }[] = [];
  const doc = {
    send: async (command: { input: { ClientRequestToken: string } }) => {
      sent.push({ token: command.input.ClientRequestToken, at: Date.now() });
      throw Object.assign(new Error("in progress"), { name: "TransactionInProgressException" });
    },
  } as unknown as DynamoDBDocumentClient;
  const start = Date.now();
  const outcome = sendTransaction(doc, { TransactItems: [] }).catch((err: Error) => err);
  await vi.runAllTimersAsync();
  expect(await outcome).toMatchObject({ name: "TransactionInProgressException" });
  expect(new Set(sent.map((s) => s.token)).size).toBe(1);
  expect(sent.length).toBe(4);
  expect(sent.at(-1)!.at - start).toBe(7_000);
});

it("does not send again on any other error", async () => {
  let sends = 0;
  const doc = {
    send: async () => {
      sends++;
      throw Object.assign(new Error("no"), { name: "TransactionCanceledException" });
    },
  } as unknown as DynamoDBDocumentClient;
  await expect(sendTransaction(doc, { TransactItems: [] })).rejects.toMatchObject({
    name: "TransactionCanceledException",
  });
  expect(sends).toBe(1);
});
