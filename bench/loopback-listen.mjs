// Preloaded into the Portkey gateway: a listen() given only a port binds 127.0.0.1, not every interface.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first] = args;
  if (typeof first === 'number' && typeof args[1] !== 'string') return listen.call(this, first, '127.0.0.1', ...args.slice(1));
  if (first !== null && typeof first === 'object' && !('host' in first) && !('path' in first))
    return listen.call(this, { ...first, host: '127.0.0.1' }, ...args.slice(1));
  return listen.apply(this, args);
};
