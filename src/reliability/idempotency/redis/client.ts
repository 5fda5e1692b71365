/**
 * The Redis client interface the store needs: one way to send a raw command. node-redis and
 * ioredis each expose one as they are (`sendCommand(args)` and `call(command, args)`), so users
 * pass their own client and no adapter. Everything else (scripts, `SET NX PX`) is built on it.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { ConfigurationError } from '../../../errors.ts';

/**
 * A node-redis client (`redis` or `@redis/client` v4 and later): `createClient()` or
 * `createClientPool()`. Connect it (`await client.connect()`) before use. node-redis's cluster
 * and sentinel clients do not fit (their `sendCommand` takes routing arguments first); for
 * Redis Cluster, use ioredis's `Cluster`.
 */
export interface SendCommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/** An ioredis client (v5 and later): `new Redis(url)` or `new Cluster(nodes)`. */
export interface CallClient {
  call(command: string, args: string[]): Promise<unknown>;
}

/**
 * Any Redis client the store accepts: a node-redis or an ioredis client, as it is. Replies are
 * expected in the clients' default form (strings, integers, null).
 */
export type RedisClientLike = SendCommandClient | CallClient;

/** Sends one raw command (`['SET', key, value]`) and resolves with its reply. */
export type SendCommand = (args: string[]) => Promise<unknown>;

/** The command sender of `client`. */
export function commandSender(client: RedisClientLike): SendCommand {
  // Check `call` first: ioredis also has a `sendCommand`, which takes its own Command objects.
  if ('call' in client && typeof client.call === 'function') {
    return ([command, ...args]) => client.call(command as string, args);
  }
  if ('sendCommand' in client && typeof client.sendCommand === 'function') {
    return (args) => client.sendCommand(args);
  }
  throw new ConfigurationError(
    'client',
    client,
    'a node-redis client (createClient(), with sendCommand) or an ioredis client (new Redis(), with call)',
  );
}

/** A Lua script with its SHA-1, so it is sent in full only when the server does not have it. */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

/** A {@link Script} for `source`. */
export function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs `script` with `EVALSHA`, and with `EVAL` when the server answers `NOSCRIPT` (after a
 * restart, a failover or `SCRIPT FLUSH`); `EVAL` caches it again for the next call.
 */
export async function evalScript(
  send: SendCommand,
  { sha, source }: Script,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const rest = [String(keys.length), ...keys, ...args];
  try {
    return await send(['EVALSHA', sha, ...rest]);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return send(['EVAL', source, ...rest]);
  }
}
