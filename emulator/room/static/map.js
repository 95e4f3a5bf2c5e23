// A top-down map of the room: +x to the right, -z (forward) up, the browser's own place at the centre.
"use strict";

const RoomMap = (() => {
  const PIXELS_PER_METRE = 40;

  // Draws everyone and returns where each was drawn ({id: [px, py]}), which tests read back.
  function draw(canvas, me, participants) {
    const ctx = canvas.getContext("2d");
    const cx = canvas.width / 2;
    const cy = canvas.height / 2;
    const toPixels = ([x, , z]) => [cx + (x - me.position[0]) * PIXELS_PER_METRE, cy + (z - me.position[2]) * PIXELS_PER_METRE];
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = "#2c313a";
    for (let m = -10; m <= 10; m += 1) {
      ctx.beginPath();
      ctx.moveTo(cx + m * PIXELS_PER_METRE, 0);
      ctx.lineTo(cx + m * PIXELS_PER_METRE, canvas.height);
      ctx.moveTo(0, cy + m * PIXELS_PER_METRE);
      ctx.lineTo(canvas.width, cy + m * PIXELS_PER_METRE);
      ctx.stroke();
    }
    const drawn = {};
    const mark = (label, position, heading, colour) => {
      const [px, py] = toPixels(position);
      ctx.fillStyle = colour;
      ctx.beginPath();
      ctx.arc(px, py, 7, 0, 2 * Math.PI);
      ctx.fill();
      ctx.strokeStyle = colour;
      ctx.beginPath();
      ctx.moveTo(px, py);
      ctx.lineTo(px + heading[0] * 18, py + heading[1] * 18);
      ctx.stroke();
      ctx.fillText(label, px + 10, py - 10);
      return [px, py];
    };
    ctx.font = "12px sans-serif";
    mark(`${me.name} (you)`, me.position, [0, -1], "#6cf");
    for (const p of participants) {
      if (p.position === null) continue;
      const colour = p.speaking ? "#fc6" : "#ccc";
      drawn[p.id] = mark(p.name, p.position, p.heading, colour);
      // Wrists as small dots: a raised or waving hand shows as a dot moving beside its owner.
      for (const wrist of [p.hands?.left, p.hands?.right]) {
        if (!wrist) continue;
        const [hx, hy] = toPixels(wrist);
        ctx.fillStyle = colour;
        ctx.beginPath();
        ctx.arc(hx, hy, 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    return drawn;
  }

  return { draw };
})();
