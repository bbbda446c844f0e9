import type { Redis } from 'ioredis';

/** Counts the commands a client sends: its round trips to Redis. `take()` answers their names since the last take. */
export function countRoundTrips(client: Redis): { take(): string[] } {
  const sent: string[] = [];
  const original = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    sent.push(command.name);
    return (original as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof client.sendCommand;
  return { take: () => sent.splice(0) };
}
