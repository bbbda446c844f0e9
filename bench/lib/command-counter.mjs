// Counts the commands an ioredis client sends (each is one round trip unless pipelined; EVALSHA counts as one).
// Wraps the instance's sendCommand, through which every ioredis command passes.

export function countCommands(client) {
  const counts = new Map();
  const original = client.sendCommand;
  let enabled = false;
  client.sendCommand = function countedSendCommand(command, stream) {
    if (enabled) counts.set(command.name, (counts.get(command.name) ?? 0) + 1);
    return original.call(this, command, stream);
  };
  return {
    start() { counts.clear(); enabled = true; },
    stop() { enabled = false; },
    /** { total, byName: { hmget: n, evalsha: n, ... } } since start(). */
    read() {
      let total = 0;
      const byName = {};
      for (const [name, count] of counts) { total += count; byName[name] = count; }
      return { total, byName };
    },
    restore() { client.sendCommand = original; },
  };
}
