import { afterEach, describe, expect, it } from "vitest";
import {
  LakeFsCredentialsError,
  resetLakeFsCredentialsCache,
  resolveLakeFsCredentials,
} from "../../lambdas/shared/lakefs/credentials";
import { createLakeFsClientFromEnv } from "../../lambdas/shared/lakefs/factory";

afterEach(() => resetLakeFsCredentialsCache());

function fakeSecrets(value: string | undefined) {
  const calls: unknown[] = [];
  return {
    calls,
    client: {
      send: async (cmd: { input: unknown }) => {
        calls.push(cmd.input);
        return { SecretString: value };
      },
    } as never,
  };
}

describe("lakeFS credentials", () => {
  it("prefers the environment keys", async () => {
    const creds = await resolveLakeFsCredentials({
      LAKEFS_ACCESS_KEY_ID: "AK",
      LAKEFS_SECRET_ACCESS_KEY: "SK",
    });
    expect(creds).toEqual({ accessKeyId: "AK", secretAccessKey: "SK" });
  });

  it("reads the Secrets Manager secret once per container", async () => {
    const sm = fakeSecrets(JSON.stringify({ accessKeyId: "A", secretAccessKey: "S" }));
    const env = { LAKEFS_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:1:secret:lakefs" };
    expect(await resolveLakeFsCredentials(env, sm.client)).toEqual({
      accessKeyId: "A",
      secretAccessKey: "S",
    });
    await resolveLakeFsCredentials(env, sm.client);
    expect(sm.calls).toEqual([{ SecretId: env.LAKEFS_SECRET_ARN }]);
  });

  it("an environment naming other keys or another secret is resolved anew, not answered from the cache", async () => {
    const first = await resolveLakeFsCredentials({
      LAKEFS_ACCESS_KEY_ID: "AK1",
      LAKEFS_SECRET_ACCESS_KEY: "SK1",
    });
    expect(first.accessKeyId).toBe("AK1");
    const second = await resolveLakeFsCredentials({
      LAKEFS_ACCESS_KEY_ID: "AK2",
      LAKEFS_SECRET_ACCESS_KEY: "SK2",
    });
    expect(second).toEqual({ accessKeyId: "AK2", secretAccessKey: "SK2" });
    const sm = fakeSecrets(JSON.stringify({ accessKeyId: "A", secretAccessKey: "S" }));
    const env = { LAKEFS_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:1:secret:lakefs" };
    expect((await resolveLakeFsCredentials(env, sm.client)).accessKeyId).toBe("A");
    expect(sm.calls).toHaveLength(1);
  });

  it("names the missing field of a bad secret, and does not cache the failure", async () => {
    const env = { LAKEFS_SECRET_ARN: "arn:x" };
    const bad = fakeSecrets(JSON.stringify({ accessKeyId: "A" }));
    await expect(resolveLakeFsCredentials(env, bad.client)).rejects.toThrow(/secretAccessKey/);
    const good = fakeSecrets(JSON.stringify({ accessKeyId: "A", secretAccessKey: "S" }));
    expect((await resolveLakeFsCredentials(env, good.client)).secretAccessKey).toBe("S");
  });

  it("never quotes a secret value it cannot read", async () => {
    // JSON.parse's own message quotes the text: "topsecret-"... is not valid JSON.
    const env = { LAKEFS_SECRET_ARN: "arn:x" };
    for (const value of [
      "topsecret-8f2a",
      '{"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "topsecret-8f2a",}',
      JSON.stringify({ accessKeyId: ["topsecret-8f2a"], secretAccessKey: "topsecret-8f2a" }),
    ]) {
      const err = await resolveLakeFsCredentials(env, fakeSecrets(value).client).catch((e) => e);
      expect(err).toBeInstanceOf(LakeFsCredentialsError);
      expect(JSON.stringify({ message: err.message, ...err })).not.toContain("topsecret");
    }
  });

  it("fails clearly without any configuration", async () => {
    await expect(resolveLakeFsCredentials({})).rejects.toBeInstanceOf(LakeFsCredentialsError);
    await expect(createLakeFsClientFromEnv({})).rejects.toThrow(/LAKEFS_ENDPOINT/);
  });

  it("builds a client from the environment", async () => {
    const c = await createLakeFsClientFromEnv({
      LAKEFS_ENDPOINT: "http://127.0.0.1:1",
      LAKEFS_ACCESS_KEY_ID: "AK",
      LAKEFS_SECRET_ACCESS_KEY: "SK",
    });
    expect(c.requestCount).toBe(0);
  });
});
