// The lease timer: time left on the item on screen, a warning in the last minute, and one call
// when it runs out (the screen then says so and keeps everything entered).

function clockText(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return `${minutes}:${seconds}`;
}

export class LeaseClock {
  // `left(lease)` is the time the lease has left in ms (api.leaseLeft: by the server's clock).
  constructor(node, { onExpire, onTick, left }) {
    this.node = node;
    this.onExpire = onExpire;
    this.onTick = onTick;
    this.left = left;
    this.lease = null;
    this.expired = false;
    this.timer = null;
  }

  start(lease) {
    this.lease = lease;
    this.expired = false;
    this.node.classList.remove("expired", "warn");
    if (!this.timer) this.timer = setInterval(() => this.tick(), 1000);
    this.tick();
  }

  stop() {
    this.lease = null;
    this.node.textContent = "";
    this.node.classList.remove("expired", "warn");
  }

  tick() {
    if (this.onTick) this.onTick();
    if (this.lease === null) return;
    const left = this.left(this.lease);
    if (Number.isNaN(left)) return;
    if (left <= 0) {
      this.node.textContent = "Lease expired";
      this.node.classList.add("expired");
      this.node.classList.remove("warn");
      if (!this.expired) {
        this.expired = true;
        this.onExpire();
      }
      return;
    }
    this.node.textContent = `Lease: ${clockText(left)} left`;
    this.node.classList.toggle("warn", left < 60000);
  }
}
