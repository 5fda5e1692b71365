/**
 * Where an SQS queue's dead letters go: the dead-letter queue of its `RedrivePolicy` (read once,
 * and read again after a failed read), or a queue URL given explicitly.
 */
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { TransportError } from '../../errors.ts';
import { toTransportError } from './classify.ts';

interface RedrivePolicy {
  readonly deadLetterQueueUrl: string;
  readonly maxReceiveCount: number;
}

/** `Target` is what dead letters are sent through, opened once for the dead-letter queue's URL. */
export class DeadLetterRoute<Target> {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #deadLetter: 'native' | { readonly queueUrl: string };
  readonly #open: (queueUrl: string) => Target;
  #redrive: Promise<RedrivePolicy | undefined> | undefined;
  #target: Promise<Target> | undefined;

  constructor(
    client: SQSClient,
    queueUrl: string,
    deadLetter: 'native' | { readonly queueUrl: string },
    open: (queueUrl: string) => Target,
  ) {
    this.#client = client;
    this.#queueUrl = queueUrl;
    this.#deadLetter = deadLetter;
    this.#open = open;
  }

  /** The redrive policy's `maxReceiveCount`; native dead-lettering without a policy is an error. */
  async deliveryLimit(): Promise<number | undefined> {
    const policy = await this.#redrivePolicy();
    if (!policy && this.#deadLetter === 'native') {
      throw new TransportError(
        this.#queueUrl,
        `Queue ${this.#queueUrl} has no RedrivePolicy, so native dead-lettering has nowhere to move messages. Give it one, or pass deadLetter: { queueUrl } to sqsQueue().`,
        false,
      );
    }
    return policy?.maxReceiveCount;
  }

  /** The dead-letter queue, opened on first use. */
  target(): Promise<Target> {
    this.#target ??= (async () => {
      const url =
        this.#deadLetter === 'native' ? (await this.#redrivePolicy())?.deadLetterQueueUrl : this.#deadLetter.queueUrl;
      if (!url) {
        throw new TransportError(
          this.#queueUrl,
          `Queue ${this.#queueUrl} has no RedrivePolicy, so there is no dead-letter queue to move messages to. Give it one, or pass deadLetter: { queueUrl } to sqsQueue().`,
          false,
        );
      }
      return this.#open(url);
    })().catch((error: unknown) => {
      this.#target = undefined;
      throw error;
    });
    return this.#target;
  }

  #redrivePolicy(): Promise<RedrivePolicy | undefined> {
    this.#redrive ??= this.#readRedrivePolicy().catch((error: unknown) => {
      this.#redrive = undefined;
      throw error;
    });
    return this.#redrive;
  }

  async #readRedrivePolicy(): Promise<RedrivePolicy | undefined> {
    let policy: string | undefined;
    try {
      const output = await this.#client.send(
        new GetQueueAttributesCommand({ QueueUrl: this.#queueUrl, AttributeNames: ['RedrivePolicy'] }),
      );
      policy = output.Attributes?.RedrivePolicy;
    } catch (error) {
      throw toTransportError(error, this.#queueUrl, 'GetQueueAttributes');
    }
    if (!policy) return undefined;
    const { deadLetterTargetArn, maxReceiveCount } = JSON.parse(policy) as {
      deadLetterTargetArn: string;
      maxReceiveCount: number | string;
    };
    // arn:aws:sqs:<region>:<account>:<name>
    const [, , , , account, name] = deadLetterTargetArn.split(':');
    try {
      const { QueueUrl } = await this.#client.send(
        new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
      );
      return { deadLetterQueueUrl: QueueUrl as string, maxReceiveCount: Number(maxReceiveCount) };
    } catch (error) {
      throw toTransportError(error, deadLetterTargetArn, 'GetQueueUrl');
    }
  }
}
