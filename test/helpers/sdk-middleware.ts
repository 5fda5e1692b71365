/**
 * AWS SDK middleware for tests: counting the requests a client makes, and injecting faults that
 * fauxqs cannot produce on demand (throttling, partial batch failures). The SDK itself is real;
 * only the chosen responses are replaced.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

/** One SDK command as it was sent. */
export interface SentCommand {
  readonly name: string;
  readonly input: Record<string, unknown>;
}

/** Records every command the client (SQS or DynamoDB) sends (once per `send()`, outside the SDK's retries). */
export function recordCommands(client: SQSClient | DynamoDBClient): SentCommand[] {
  const sent: SentCommand[] = [];
  // The two clients' stacks differ only in their input and output types, which this ignores.
  (client.middlewareStack as SQSClient['middlewareStack']).add(
    (next, context) => async (args) => {
      sent.push({ name: context.commandName as string, input: structuredClone(args.input as Record<string, unknown>) });
      return next(args);
    },
    { step: 'initialize', name: `record-${Math.random()}` },
  );
  return sent;
}

/** Counts commands by name. */
export function countByName(sent: readonly SentCommand[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { name } of sent) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

/**
 * Answers a command with an SQS error response built by the SDK's own deserializer, without
 * sending it: `fail(commandName, input)` returns the error code to throw (for example
 * `ThrottlingException`) or undefined to let the command through.
 */
export function injectErrors(
  client: SQSClient,
  fail: (command: string, input: Record<string, unknown>) => string | undefined,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const code = fail(context.commandName as string, args.input as Record<string, unknown>);
      if (code === undefined) return next(args);
      const status = code === 'ThrottlingException' ? 400 : code === 'InternalError' ? 500 : 400;
      return {
        output: undefined,
        response: {
          statusCode: status,
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${code};Sender` },
          body: new TextEncoder().encode(
            JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message: `injected ${code}` }),
          ),
        },
      } as never;
    },
    { step: 'deserialize', name: `inject-${Math.random()}` },
  );
}

/**
 * Fails chosen entries of `SendMessageBatch` the way SQS reports partial failures: the entries
 * are removed from the request and listed in `Failed` with `SenderFault: false` (retryable).
 */
export function failBatchEntries(client: SQSClient, shouldFail: (body: string) => boolean): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'SendMessageBatchCommand') return next(args);
      const input = args.input as { QueueUrl: string; Entries: { Id: string; MessageBody: string }[] };
      const failing = input.Entries.filter((entry) => shouldFail(entry.MessageBody));
      if (failing.length === 0) return next(args);
      const passing = input.Entries.filter((entry) => !failing.includes(entry));
      const result = passing.length
        ? await next({ ...args, input: { ...input, Entries: passing } })
        : { output: { Successful: [], $metadata: {} }, response: {} };
      const output = result.output as { Failed?: unknown[] };
      output.Failed = [
        ...(output.Failed ?? []),
        ...failing.map((entry) => ({ Id: entry.Id, SenderFault: false, Code: 'InternalError', Message: 'injected' })),
      ];
      return result;
    },
    { step: 'initialize', name: `fail-entries-${Math.random()}` },
  );
}
