# Sourced by the interop scripts: free_ports N prints N loopback TCP ports the OS had free.
free_ports() {
  node -e '
    const net = require("net");
    const n = Number(process.argv[1]);
    const servers = [];
    const next = () => {
      if (servers.length === n) { console.log(servers.map(s => s.address().port).join(" ")); servers.forEach(s => s.close()); return; }
      const s = net.createServer().listen(0, "127.0.0.1", () => { servers.push(s); next(); });
    };
    next();' "$1"
}
