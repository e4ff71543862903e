// Lambda's asynchronous invocation (InvocationType Event, what EventBridge and the Scheduler
// use): the event is accepted, run, retried after a function error (MaximumRetryAttempts,
// default 2), and when every attempt failed it goes to the function's on-failure destination
// (the invocation record Lambda writes) or else to its dead-letter queue (the event itself).

export interface AsyncInvokeConfig {
  /** Retries after the first failed attempt, 0 to 2 (default 2). */
  maximumRetryAttempts?: number;
  /** EventInvokeConfig DestinationConfig.OnFailure.Destination (an SQS queue ARN locally). */
  onFailureDestination?: string;
  /** The function's DeadLetterConfig.TargetArn (used when there is no on-failure destination). */
  deadLetterTargetArn?: string;
}

/** Sends a message to an SQS queue by ARN (the local queues). */
export type QueueSender = (
  queueArn: string,
  body: string,
  attributes?: Record<string, { DataType: string; StringValue: string }>,
) => Promise<void> | void;

export interface AsyncAttempt {
  ok: boolean;
  /** The response payload (the error document on failure). */
  payload: string;
  requestId: string;
}

/**
 * Runs the attempts of one asynchronous invocation and routes a final failure; never rejects.
 * `onFailure` hears about every final failure (logs, the router's delivery record).
 */
export async function runAsyncInvocation(args: {
  functionArn: string;
  event: unknown;
  config: AsyncInvokeConfig;
  attempt: () => Promise<AsyncAttempt>;
  sendToQueue?: QueueSender;
  onFailure: (message: string) => void;
}): Promise<void> {
  const { functionArn, event, config } = args;
  const retries = config.maximumRetryAttempts ?? 2;
  let last: AsyncAttempt | undefined;
  let attempts = 0;
  try {
    for (; attempts <= retries; ) {
      attempts++;
      last = await args.attempt();
      if (last.ok) return;
    }
  } catch (e) {
    args.onFailure(`async invocation of ${functionArn} failed: ${(e as Error).message}`);
    return;
  }
  const error = parseError(last!.payload);
  args.onFailure(
    `async invocation of ${functionArn} failed after ${attempts} attempts: ${last!.payload}`,
  );
  try {
    if (config.onFailureDestination) {
      await sendTo(
        args.sendToQueue,
        config.onFailureDestination,
        JSON.stringify({
          version: "1.0",
          timestamp: new Date().toISOString(),
          requestContext: {
            requestId: last!.requestId,
            functionArn: `${functionArn}:$LATEST`,
            condition: "RetriesExhausted",
            approximateInvokeCount: attempts,
          },
          requestPayload: event,
          responseContext: {
            statusCode: 200,
            executedVersion: "$LATEST",
            functionError: "Unhandled",
          },
          responsePayload: error,
        }),
      );
    } else if (config.deadLetterTargetArn) {
      await sendTo(args.sendToQueue, config.deadLetterTargetArn, JSON.stringify(event), {
        RequestID: { DataType: "String", StringValue: last!.requestId },
        ErrorCode: { DataType: "Number", StringValue: "200" },
        ErrorMessage: { DataType: "String", StringValue: error.errorMessage ?? "" },
      });
    }
  } catch (e) {
    args.onFailure(`could not send the failed event of ${functionArn} on: ${(e as Error).message}`);
  }
}

async function sendTo(
  send: QueueSender | undefined,
  arn: string,
  body: string,
  attributes?: Record<string, { DataType: string; StringValue: string }>,
): Promise<void> {
  if (!/^arn:aws[a-z-]*:sqs:/.test(arn)) {
    throw new Error(`destination ${arn}: only SQS queues are supported locally`);
  }
  if (!send) throw new Error(`no SQS queues connected for ${arn}`);
  await send(arn, body, attributes);
}

function parseError(payload: string): { errorType?: string; errorMessage?: string } {
  try {
    return JSON.parse(payload) as { errorType?: string; errorMessage?: string };
  } catch {
    return { errorMessage: payload };
  }
}
