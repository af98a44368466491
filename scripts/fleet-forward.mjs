// A TCP forwarder for the test fleet (scripts/fleet.sh): listens on
// LISTEN_ADDR:PORT and pipes each connection to TARGET_ADDR:TARGET_PORT.
// Run in the worker's namespace, it gives the worker's loopback this host's
// registry, so an image named 127.0.0.1:PORT/… pulls on both nodes.
import net from 'node:net';

const [listenAddr, port, targetAddr, targetPort] = process.argv.slice(2);
if (!targetPort) {
  console.error('usage: fleet-forward.mjs LISTEN_ADDR PORT TARGET_ADDR TARGET_PORT');
  process.exit(1);
}
net
  .createServer((client) => {
    const upstream = net.connect(Number(targetPort), targetAddr);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  })
  .listen(Number(port), listenAddr);
